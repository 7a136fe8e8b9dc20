#!/usr/bin/env bash
# Install RAYPACK Edge as a systemd service on Debian, Ubuntu, Raspberry Pi OS (64-bit) and NVIDIA JetPack.
#
#   sudo scripts/install.sh [--prefix /opt/raypack-edge] [--no-service] [--dry-run]
#
# Installs ffmpeg (apt), checks Node.js >= 20, copies this checkout to the prefix, runs `npm ci` there (which builds
# the ONNX models from the npm packages, offline), writes /etc/raypack-edge/{config.yaml,env} if absent, and
# enables the systemd unit. --no-service skips systemd (containers, manual runs). --dry-run prints the steps.
set -euo pipefail

PREFIX=/opt/raypack-edge
CONF_DIR=/etc/raypack-edge
SERVICE=1
DRY=0
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="${2:?--prefix needs a directory}"; shift 2 ;;
    --no-service) SERVICE=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

run() { if [ "$DRY" -eq 1 ]; then echo "+ $*"; else "$@"; fi; }
say() { echo "==> $*"; }
die() { echo "install.sh: $*" >&2; exit 1; }

# 1. Platform: onnxruntime-node ships x86_64 and arm64 Linux binaries only (no 32-bit Raspberry Pi OS).
ARCH="$(uname -m)"
case "$ARCH" in
  x86_64|aarch64|arm64) ;;
  *) die "unsupported CPU architecture '$ARCH': use a 64-bit OS (Raspberry Pi OS 64-bit, JetPack, Debian/Ubuntu arm64 or amd64)" ;;
esac
if [ "$DRY" -eq 0 ] && [ "$(id -u)" -ne 0 ]; then die "run as root (sudo), or use --dry-run to see the steps"; fi
JETSON=0; [ -f /etc/nv_tegra_release ] && JETSON=1

# 2. System packages.
say "system packages (apt): ffmpeg"
if command -v apt-get >/dev/null 2>&1; then
  run apt-get update
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg ca-certificates rsync
else
  command -v ffmpeg >/dev/null 2>&1 || die "no apt-get and no ffmpeg: install ffmpeg with your package manager"
fi

# 3. Node.js >= 20 (JetPack's and older Ubuntu's apt nodejs are too old).
NODE_MAJOR="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [ "$NODE_MAJOR" -lt 20 ]; then
  die "Node.js >= 20 is required (found: $(node -v 2>/dev/null || echo none)). Install it from https://github.com/nodesource/distributions (deb.nodesource.com) or your distribution's nodejs 20+ package, then rerun."
fi
say "node $(node -v) on $ARCH$([ "$JETSON" -eq 1 ] && echo ' (Jetson)')"

# 4. Code and dependencies.
if [ "$SRC" != "$PREFIX" ]; then
  say "copy $SRC -> $PREFIX"
  run mkdir -p "$PREFIX"
  run rsync -a --delete --exclude node_modules --exclude .git --exclude 'models/build' --exclude coverage "$SRC/" "$PREFIX/"
fi
say "npm ci in $PREFIX (builds the ONNX models)"
run sh -c "cd '$PREFIX' && npm ci --no-audit --no-fund"
run chmod -R a+rX "$PREFIX"

# 5. Configuration: a starter config that runs the DEMO camera until you add your own cameras.
run mkdir -p "$CONF_DIR"
if [ ! -f "$CONF_DIR/config.yaml" ]; then
  say "write $CONF_DIR/config.yaml (demo camera on; add cameras, see $PREFIX/config/example.yaml)"
  if [ "$DRY" -eq 1 ]; then echo "+ sed 's/^demo: false/demo: true/' config/default.yaml > $CONF_DIR/config.yaml"
  else sed 's/^demo: false /demo: true  /' "$PREFIX/config/default.yaml" > "$CONF_DIR/config.yaml"; fi
fi
if [ ! -f "$CONF_DIR/env" ]; then
  say "write $CONF_DIR/env (secrets, mode 0640)"
  if [ "$DRY" -eq 0 ]; then
    umask 027
    cat > "$CONF_DIR/env" <<'ENV'
# Secrets for raypack-edge (read by the systemd unit). Never put them in config.yaml.
# RAYPACK_MQTT_PASSWORD=
# RAYPACK_API_KEYS=key-for-apps-at-least-16-chars
# RAYPACK_ADMIN_API_KEYS=admin-key-at-least-16-chars
# RAYPACK_CAM_DOOR_URL=rtsp://user:password@192.168.1.20:554/stream1
ENV
  fi
fi
run sh -c "cd '$PREFIX' && node bin/raypack-edge.js start --help >/dev/null"

# 6. The service.
if [ "$SERVICE" -eq 1 ]; then
  command -v systemctl >/dev/null 2>&1 || die "systemctl not found: rerun with --no-service and start it yourself"
  say "install and start systemd/raypack-edge.service"
  if [ "$DRY" -eq 1 ]; then echo "+ sed 's#/opt/raypack-edge#$PREFIX#g' systemd/raypack-edge.service > /etc/systemd/system/raypack-edge.service"
  else sed "s#/opt/raypack-edge#$PREFIX#g" "$PREFIX/systemd/raypack-edge.service" > /etc/systemd/system/raypack-edge.service; fi
  run systemctl daemon-reload
  run systemctl enable --now raypack-edge.service
  say "running: journalctl -u raypack-edge -f   (status: systemctl status raypack-edge)"
else
  say "no service installed; run: cd $PREFIX && RAYPACK_CONFIG=$CONF_DIR/config.yaml node bin/raypack-edge.js start"
fi
say "then: http://127.0.0.1:8080/cameras  and  mosquitto_sub -t 'raypack/#' -v (embedded broker: 127.0.0.1:1883)"
say "HTTP serves this machine only: set http.host: 0.0.0.0 in $CONF_DIR/config.yaml (with api_keys) to serve the network"
