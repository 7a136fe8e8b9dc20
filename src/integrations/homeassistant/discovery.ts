/**
 * Home Assistant MQTT discovery payloads, pure: one HA device per camera, each entity one retained config message
 * at `<prefix>/<component>/raypack_<device>/<camera>_<entity>/config`. Entities read the camera's retained `view`
 * (and `status`) topics; the image entity reads the anonymised snapshot JPEG. Availability is bound to the
 * daemon's `raypack/<device>/status` (online/offline, also the last will) and, for what describes "now", to the
 * view's `fresh` flag, so a stalled camera's last numbers show as unavailable rather than as current.
 */
import type { CameraState } from '../../camera/supervisor.ts';
import { haConfigTopic, type Topics } from '../../mqtt/topics.ts';

export const CAMERA_STATES: readonly CameraState[] = ['connecting', 'streaming', 'stalled', 'backoff', 'stopped'];

export interface DiscoveryCamera {
  readonly id: string;
  readonly tasks: readonly string[];
  /** Names of the camera's counting zones and lines (docs/COUNTING.md); absent: none. */
  readonly zones?: readonly string[];
  readonly lines?: readonly string[];
}

export interface DiscoveryInput {
  readonly prefix: string;
  readonly topics: Topics;
  readonly version: string;
  readonly cameras: readonly DiscoveryCamera[];
  /** Publish an image entity (the snapshot is sent at an interval > 0). */
  readonly image: boolean;
}

export interface DiscoveryMessage {
  readonly topic: string;
  readonly component: 'sensor' | 'binary_sensor' | 'image';
  readonly config: Record<string, unknown>;
}

/** The node id of this daemon's entities (HA allows [a-zA-Z0-9_-]; device ids already are). */
export function nodeId(device: string): string {
  return `raypack_${device}`;
}

export function discoveryMessages(input: DiscoveryInput): DiscoveryMessage[] {
  const { topics, prefix } = input;
  const node = nodeId(topics.device);
  const origin = { name: 'RAYPACK Edge', sw_version: input.version };
  const messages: DiscoveryMessage[] = [];
  for (const camera of input.cameras) {
    const device = {
      identifiers: [`${node}_${camera.id}`],
      name: `${camera.id} (${topics.device})`,
      model: 'RAYPACK Edge camera',
      manufacturer: 'RAYPACK',
      sw_version: input.version,
    };
    const daemonOnline = { topic: topics.deviceStatus(), payload_available: 'online', payload_not_available: 'offline' };
    const viewFresh = { topic: topics.view(camera.id), value_template: "{{ 'online' if value_json.fresh else 'offline' }}" };
    const now = { availability: [daemonOnline, viewFresh], availability_mode: 'all' };
    const entity = (component: DiscoveryMessage['component'], key: string, config: Record<string, unknown>): void => {
      const objectId = `${camera.id}_${key}`;
      messages.push({
        topic: haConfigTopic(prefix, component, node, objectId),
        component,
        config: { unique_id: `${node}_${objectId}`, device, origin, ...config },
      });
    };
    const view = { state_topic: topics.view(camera.id) };
    entity('sensor', 'faces', { name: 'Faces', ...view, value_template: '{{ value_json.faces }}', state_class: 'measurement', icon: 'mdi:face-recognition', ...now });
    const objects = camera.tasks.includes('objects');
    if (objects) {
      entity('sensor', 'people', { name: 'People', ...view, value_template: '{{ value_json.people }}', state_class: 'measurement', icon: 'mdi:account-group', ...now });
      entity('sensor', 'objects', { name: 'Objects', ...view, value_template: '{{ value_json.objects }}', icon: 'mdi:shape', ...now });
    }
    if (camera.tasks.includes('food')) entity('sensor', 'food', { name: 'Food', ...view, value_template: '{{ value_json.food }}', icon: 'mdi:food', ...now });
    entity('binary_sensor', 'occupancy', { name: 'Occupancy', ...view, value_template: '{{ value_json.occupancy }}', device_class: 'occupancy', ...now });
    entity('sensor', 'state', {
      name: 'Camera state',
      state_topic: topics.cameraStatus(camera.id),
      value_template: '{{ value_json.state }}',
      device_class: 'enum',
      options: [...CAMERA_STATES],
      entity_category: 'diagnostic',
      availability: [daemonOnline],
    });
    // Zone and line counters: their retained topics hold the day's counts, valid while the daemon is online.
    const counter = (key: string, name: string, topic: string, field: string, stateClass: 'measurement' | 'total_increasing', icon: string): void =>
      entity('sensor', key, { name, state_topic: topic, value_template: `{{ value_json.${field} }}`, state_class: stateClass, icon, availability: [daemonOnline] });
    for (const zone of camera.zones ?? []) {
      const topic = topics.zone(camera.id, zone);
      counter(`zone_${zone}_occupancy`, `${zone} occupancy`, topic, 'occupancy', 'measurement', 'mdi:account-group');
      counter(`zone_${zone}_entered`, `${zone} entered today`, topic, 'entered', 'total_increasing', 'mdi:location-enter');
      counter(`zone_${zone}_exited`, `${zone} exited today`, topic, 'exited', 'total_increasing', 'mdi:location-exit');
    }
    for (const line of camera.lines ?? []) {
      const topic = topics.line(camera.id, line);
      counter(`line_${line}_in`, `${line} in today`, topic, 'in', 'total_increasing', 'mdi:arrow-right-bold');
      counter(`line_${line}_out`, `${line} out today`, topic, 'out', 'total_increasing', 'mdi:arrow-left-bold');
    }
    if (input.image) entity('image', 'snapshot', { name: 'Snapshot', image_topic: topics.snapshot(camera.id), content_type: 'image/jpeg', ...now });
  }
  return messages;
}
