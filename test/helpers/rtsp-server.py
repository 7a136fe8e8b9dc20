#!/usr/bin/python3
"""A tiny RTSP server for tests: GStreamer's RTSP server on 127.0.0.1 serving a looped H.264 slideshow of JPEG
frames (people's faces). Prints `READY <port>` on stdout once it listens. Usage:
  rtsp-server.py --frames DIR/frame%d.jpg --count N [--port 0] [--path /cam] [--fps 10] [--width 640 --height 426]
  rtsp-server.py --file CLIP.mp4 [--port 0] [--path /cam]   (an H.264 MP4 served as it is, once per client session)
"""
import argparse
import signal
import sys

import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument('--frames', help='printf-style pattern of JPEG files, e.g. dir/frame%%d.jpg')
    parser.add_argument('--count', type=int)
    parser.add_argument('--file', help='an H.264 MP4 to serve without re-encoding')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--path', default='/cam')
    parser.add_argument('--fps', type=int, default=10)
    parser.add_argument('--seconds-each', type=int, default=1)
    parser.add_argument('--width', type=int, default=640)
    parser.add_argument('--height', type=int, default=426)
    args = parser.parse_args()

    if args.file is None and (args.frames is None or args.count is None):
        parser.error('give --file, or --frames and --count')

    Gst.init(None)
    if args.file is not None:
        launch = f'( filesrc location="{args.file}" ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )'
    else:
        launch = (
            f'( multifilesrc location="{args.frames}" index=0 stop-index={args.count - 1} loop=true '
            f'caps="image/jpeg,framerate=1/{args.seconds_each}" ! jpegdec ! videoconvert ! videoscale ! '
            f'video/x-raw,width={args.width},height={args.height} ! videorate ! video/x-raw,framerate={args.fps}/1 ! '
            f'x264enc tune=zerolatency speed-preset=ultrafast key-int-max={args.fps} bitrate=1000 ! '
            f'rtph264pay name=pay0 pt=96 config-interval=1 )'
        )
    server = GstRtspServer.RTSPServer()
    server.set_address('127.0.0.1')
    server.set_service(str(args.port))
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(launch)
    factory.set_shared(True)
    server.get_mount_points().add_factory(args.path, factory)
    if server.attach(None) == 0:
        print('FAILED to attach', flush=True)
        sys.exit(1)
    print(f'READY {server.get_bound_port()}', flush=True)
    loop = GLib.MainLoop()
    signal.signal(signal.SIGTERM, lambda *_: loop.quit())
    signal.signal(signal.SIGINT, lambda *_: loop.quit())
    GLib.timeout_add(200, lambda: True)  # let Python see signals while GLib runs
    loop.run()


if __name__ == '__main__':
    main()
