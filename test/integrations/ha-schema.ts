/**
 * A check of MQTT discovery config payloads against Home Assistant's documented schema, written from its docs
 * (home-assistant.io/integrations/mqtt/ "Discovery messages", sensor.mqtt, binary_sensor.mqtt, image.mqtt, and the
 * device-class lists of the sensor and binary_sensor integrations). Returns every problem, each with its key.
 */

/** Keys every MQTT entity accepts (availability, device, entity options). */
const COMMON = [
  'availability', 'availability_mode', 'availability_template', 'availability_topic', 'device', 'enabled_by_default', 'encoding', 'entity_category',
  'entity_picture', 'icon', 'json_attributes_template', 'json_attributes_topic', 'name', 'object_id', 'default_entity_id', 'origin', 'payload_available',
  'payload_not_available', 'qos', 'unique_id',
];
const ALLOWED: Record<string, readonly string[]> = {
  sensor: [...COMMON, 'device_class', 'expire_after', 'force_update', 'last_reset_value_template', 'options', 'state_class', 'state_topic', 'suggested_display_precision', 'unit_of_measurement', 'value_template'],
  binary_sensor: [...COMMON, 'device_class', 'expire_after', 'force_update', 'off_delay', 'payload_off', 'payload_on', 'state_topic', 'value_template'],
  image: [...COMMON, 'content_type', 'image_encoding', 'image_topic', 'url_template', 'url_topic'],
};
const REQUIRED: Record<string, readonly string[]> = { sensor: ['state_topic'], binary_sensor: ['state_topic'], image: [] };

/** binary_sensor device classes (BinarySensorDeviceClass). */
export const BINARY_SENSOR_DEVICE_CLASSES = [
  'battery', 'battery_charging', 'carbon_monoxide', 'cold', 'connectivity', 'door', 'garage_door', 'gas', 'heat', 'light', 'lock', 'moisture', 'motion',
  'moving', 'occupancy', 'opening', 'plug', 'power', 'presence', 'problem', 'running', 'safety', 'smoke', 'sound', 'tamper', 'update', 'vibration', 'window',
];
/** The sensor device classes this checker knows (a subset of SensorDeviceClass: the ones that need no unit and enum). */
const SENSOR_DEVICE_CLASSES = ['enum', 'timestamp', 'date', 'duration', 'data_size', 'power', 'temperature', 'humidity', 'battery'];
const STATE_CLASSES = ['measurement', 'total', 'total_increasing', 'measurement_angle'];
const ENTITY_CATEGORIES = ['config', 'diagnostic'];
const DEVICE_KEYS = ['configuration_url', 'connections', 'hw_version', 'identifiers', 'manufacturer', 'model', 'model_id', 'name', 'serial_number', 'suggested_area', 'sw_version', 'via_device'];
const ORIGIN_KEYS = ['name', 'sw_version', 'support_url'];
/** `<prefix>/<component>/[<node_id>/]<object_id>/config`, ids of [a-zA-Z0-9_-]. */
const TOPIC = /^(?<prefix>.+?)\/(?<component>[a-z_]+)\/(?:(?<node>[a-zA-Z0-9_-]+)\/)?(?<object>[a-zA-Z0-9_-]+)\/config$/;

function validSubscribeTopic(topic: unknown): boolean {
  if (typeof topic !== 'string' || topic.length === 0 || topic.includes('\0')) return false;
  const levels = topic.split('/');
  return levels.every((l, i) => (l.includes('#') ? l === '#' && i === levels.length - 1 : !l.includes('+') || l === '+'));
}

function validTemplate(t: unknown): boolean {
  return typeof t === 'string' && (t.match(/\{\{/g) ?? []).length === (t.match(/\}\}/g) ?? []).length;
}

export function haConfigProblems(topic: string, config: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const m = TOPIC.exec(topic);
  if (!m) return [`topic ${topic}: not <prefix>/<component>/[<node_id>/]<object_id>/config`];
  const component = m.groups!.component;
  const allowed = ALLOWED[component];
  if (!allowed) return [`component ${component}: not checked here`];
  for (const key of Object.keys(config)) if (!allowed.includes(key)) problems.push(`${key}: not an option of ${component}`);
  for (const key of REQUIRED[component]) if (config[key] === undefined) problems.push(`${key}: required`);
  if (typeof config.unique_id !== 'string' || config.unique_id === '') problems.push('unique_id: required for a device and for entity registry settings');
  if (component === 'image') {
    const hasImage = config.image_topic !== undefined;
    const hasUrl = config.url_topic !== undefined;
    if (hasImage === hasUrl) problems.push('image_topic/url_topic: exactly one is required');
    if (hasUrl && config.content_type !== undefined) problems.push('content_type: not allowed with url_topic');
    if (config.image_encoding !== undefined && config.image_encoding !== 'b64') problems.push('image_encoding: only b64');
  }
  for (const key of ['state_topic', 'image_topic', 'url_topic', 'availability_topic', 'json_attributes_topic']) {
    if (config[key] !== undefined && !validSubscribeTopic(config[key])) problems.push(`${key}: not a valid subscribe topic`);
  }
  for (const key of ['value_template', 'availability_template', 'url_template', 'json_attributes_template']) {
    if (config[key] !== undefined && !validTemplate(config[key])) problems.push(`${key}: unbalanced template`);
  }
  if (config.availability !== undefined) {
    if (config.availability_topic !== undefined) problems.push('availability: must not be used together with availability_topic');
    if (!Array.isArray(config.availability) || config.availability.length === 0) problems.push('availability: a non-empty list');
    else {
      for (const [i, a] of (config.availability as Array<Record<string, unknown>>).entries()) {
        for (const key of Object.keys(a)) if (!['topic', 'payload_available', 'payload_not_available', 'value_template'].includes(key)) problems.push(`availability[${i}].${key}: unknown`);
        if (!validSubscribeTopic(a.topic)) problems.push(`availability[${i}].topic: required, a valid topic`);
        if (a.value_template !== undefined && !validTemplate(a.value_template)) problems.push(`availability[${i}].value_template: unbalanced`);
      }
    }
  }
  if (config.availability_mode !== undefined && !['all', 'any', 'latest'].includes(String(config.availability_mode))) problems.push('availability_mode: all, any or latest');
  if (config.qos !== undefined && ![0, 1, 2].includes(config.qos as number)) problems.push('qos: 0, 1 or 2');
  if (config.entity_category !== undefined && !ENTITY_CATEGORIES.includes(String(config.entity_category))) problems.push('entity_category: config or diagnostic');
  if (config.icon !== undefined && !/^[a-z0-9-]+:[a-z0-9-]+$/.test(String(config.icon))) problems.push('icon: prefix:name');
  if (config.device_class !== undefined) {
    const classes = component === 'binary_sensor' ? BINARY_SENSOR_DEVICE_CLASSES : SENSOR_DEVICE_CLASSES;
    if (!classes.includes(String(config.device_class))) problems.push(`device_class: ${String(config.device_class)} is not a ${component} device class`);
  }
  if (component === 'sensor') {
    if (config.state_class !== undefined && !STATE_CLASSES.includes(String(config.state_class))) problems.push('state_class: measurement, total, total_increasing or measurement_angle');
    if (config.device_class === 'enum') {
      if (!Array.isArray(config.options) || config.options.length === 0) problems.push('options: required by device_class enum');
      if (config.state_class !== undefined || config.unit_of_measurement !== undefined) problems.push('device_class enum: no state_class and no unit_of_measurement');
    } else if (config.options !== undefined) problems.push('options: only with device_class enum');
  }
  const device = config.device as Record<string, unknown> | undefined;
  if (device !== undefined) {
    for (const key of Object.keys(device)) if (!DEVICE_KEYS.includes(key)) problems.push(`device.${key}: unknown`);
    const ids = device.identifiers;
    const hasIds = (Array.isArray(ids) ? ids.length > 0 : typeof ids === 'string') || (Array.isArray(device.connections) && device.connections.length > 0);
    if (!hasIds) problems.push('device: at least one of identifiers or connections');
    for (const key of ['name', 'model', 'manufacturer', 'sw_version']) if (device[key] !== undefined && typeof device[key] !== 'string') problems.push(`device.${key}: a string`);
  }
  const origin = config.origin as Record<string, unknown> | undefined;
  if (origin !== undefined) {
    for (const key of Object.keys(origin)) if (!ORIGIN_KEYS.includes(key)) problems.push(`origin.${key}: unknown`);
    if (typeof origin.name !== 'string') problems.push('origin.name: required');
  }
  return problems;
}
