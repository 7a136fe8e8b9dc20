// The dashboard page: plain ES module, no build step. Data from /api/dashboard every 2 s; live views are the
// daemon's anonymised MJPEG (or snapshot) routes; the try form posts to /raypackfacev3. The API key, when one is
// needed, lives in sessionStorage only and is sent as `Authorization: Bearer` (and as ?apikey= where an <img>
// cannot send headers).

const KEY_STORE = 'raypack.apikey';
const $ = (id) => document.getElementById(id);

let key = sessionStorage.getItem(KEY_STORE) ?? '';
let timer;
const cards = new Map();

function authHeaders() {
  return key ? { authorization: `Bearer ${key}` } : {};
}

function withKey(url) {
  return key ? `${url}${url.includes('?') ? '&' : '?'}apikey=${encodeURIComponent(key)}` : url;
}

function notice(text) {
  const el = $('notice');
  el.textContent = text ?? '';
  el.hidden = !text;
}

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === 'text') node.textContent = value;
    else node.setAttribute(name, value);
  }
  for (const child of children) node.append(child);
  return node;
}

function stat(label, value) {
  const node = el('div', {}, [el('span', { text: label }), el('b', { text: String(value) })]);
  return node;
}

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, String(value));
  if (text !== undefined) node.textContent = text;
  return node;
}

// The camera's zones and lines over its live view, with their counts. The SVG's viewBox is the analysed frame
// (width x height) and it fits the view like the image does (object-fit: contain), so 0-1 coordinates land on the
// picture whatever the card's size. A line's arrow points to the side it counts as "in".
function drawOverlay(overlay, camera) {
  const { width, height, counting } = camera;
  overlay.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const px = ([x, y]) => `${x * width},${y * height}`;
  const size = Math.max(12, height / 22);
  // Labels stay inside the picture: anchored at their end on its right half.
  const label = (x, y, text) => svg('text', { x, y, 'font-size': size, class: 'overlay-label', 'text-anchor': x > width / 2 ? 'end' : 'start' }, text);
  const items = [];
  for (const zone of counting?.zones ?? []) {
    const [x, y] = zone.points[0];
    const g = svg('g', { 'data-zone': zone.name });
    items.push(g);
    g.append(svg('polygon', { points: zone.points.map(px).join(' '), class: 'overlay-zone' }));
    g.append(label(x * width + 4, y * height + size, `${zone.name}: ${zone.occupancy} now · ${zone.entered} entered · ${zone.exited} left`));
  }
  for (const line of counting?.lines ?? []) {
    const [ax, ay] = [line.a[0] * width, line.a[1] * height];
    const [bx, by] = [line.b[0] * width, line.b[1] * height];
    const length = Math.hypot(bx - ax, by - ay) || 1;
    // The right-hand normal of a->b on the screen (y down); "in" is towards it for left_to_right.
    const sign = line.in === 'left_to_right' ? 1 : -1;
    const [nx, ny] = [(-(by - ay) / length) * sign, ((bx - ax) / length) * sign];
    const [mx, my] = [(ax + bx) / 2, (ay + by) / 2];
    const arrow = size * 2;
    const g = svg('g', { 'data-line': line.name });
    g.append(svg('line', { x1: ax, y1: ay, x2: bx, y2: by, class: 'overlay-line' }));
    g.append(svg('line', { x1: mx, y1: my, x2: mx + nx * arrow, y2: my + ny * arrow, class: 'overlay-arrow', 'marker-end': 'url(#overlay-head)' }));
    // The label by the line's upper end, clear of the arrow in its middle.
    const [tx, ty] = ay < by ? [ax, ay] : [bx, by];
    const inward = tx > width / 2 ? -6 : 6;
    g.append(label(tx + inward, Math.max(size, ty + size * 1.2), `${line.name}: ${line.counts.in} in · ${line.counts.out} out`));
    items.push(g);
  }
  const defs = svg('defs');
  const marker = svg('marker', { id: 'overlay-head', viewBox: '0 0 10 10', refX: 8, refY: 5, markerWidth: 5, markerHeight: 5, orient: 'auto-start-reverse' });
  marker.append(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'overlay-head' }));
  defs.append(marker);
  overlay.replaceChildren(defs, ...items);
  overlay.hidden = items.length === 0;
}

function cameraCard(camera) {
  const img = el('img', { alt: `${camera.camera}, anonymised live view`, 'data-camera': camera.camera });
  const overlay = svg('svg', { class: 'overlay', preserveAspectRatio: 'xMidYMid meet', 'aria-label': `${camera.camera}: zones and lines`, role: 'img' });
  const stateBadge = el('span', { class: 'state' });
  const stats = el('div', { class: 'stats' });
  const tags = el('div', { class: 'tags' });
  const select = el('select', { 'aria-label': 'view' }, [el('option', { value: 'live', text: 'live (MJPEG)' }), el('option', { value: 'snapshot', text: 'snapshot every 2 s' })]);
  const card = el('article', { class: 'camera', id: `camera-${camera.camera}` }, [
    el('h3', {}, [el('span', { text: camera.camera }), stateBadge]),
    el('div', { class: 'view' }, [img, overlay]),
    stats,
    tags,
    el('div', { class: 'view-mode' }, [select]),
  ]);
  const entry = { card, img, overlay, stateBadge, stats, tags, mode: 'live' };
  select.addEventListener('change', () => {
    entry.mode = select.value;
    setImage(entry, camera.camera, true);
  });
  setImage(entry, camera.camera, true);
  return entry;
}

function setImage(entry, id, force) {
  if (entry.mode === 'live') {
    if (force) entry.img.src = withKey(`/cameras/${encodeURIComponent(id)}/stream.mjpeg`);
  } else {
    entry.img.src = withKey(`/cameras/${encodeURIComponent(id)}/snapshot.jpg?t=${Date.now()}`);
  }
}

function renderCameras(cameras) {
  const section = $('cameras');
  if (cameras.length === 0) section.replaceChildren(el('p', { text: 'No cameras are configured.' }));
  for (const camera of cameras) {
    let entry = cards.get(camera.camera);
    if (!entry) {
      entry = cameraCard(camera);
      cards.set(camera.camera, entry);
      section.append(entry.card);
    }
    entry.stateBadge.textContent = camera.state;
    entry.stateBadge.className = `state ${camera.state}`;
    const drops = camera.dropReasons;
    entry.stats.replaceChildren(
      stat('fps', camera.fps),
      stat('faces now', camera.view.fresh ? camera.view.faces : '–'),
      stat('people now', camera.tasks.includes('objects') ? (camera.view.fresh ? camera.view.people : '–') : 'n/a'),
      stat('received', camera.frames.received),
      stat('analysed', camera.frames.analysed),
      stat('dropped', `${camera.frames.dropped} (${drops.replaced} replaced, ${drops.queueFull} queue, ${drops.stale} stale)`),
    );
    drawOverlay(entry.overlay, camera);
    entry.tags.textContent = [camera.view.objects, camera.view.food].filter(Boolean).join(' · ') || (camera.lasterror ? `last error: ${camera.lasterror}` : '');
    if (entry.mode === 'snapshot') setImage(entry, camera.camera, false);
  }
}

function renderList(id, items) {
  $(id).replaceChildren(...items.map((text) => el('li', { text })));
}

function renderPairs(id, pairs) {
  $(id).replaceChildren(...pairs.flatMap(([k, v]) => [el('dt', { text: k }), el('dd', { text: String(v) })]));
}

function render(data) {
  $('device').textContent = `${data.device} · ${data.version}`;
  renderCameras(data.cameras);
  renderList(
    'events',
    data.events.map((e) => `${new Date(e.time).toLocaleTimeString()} ${e.camera}: ${e.kind} ${e.from === '' ? '' : `${e.from} → `}${e.to === '' ? '(none)' : e.to}`),
  );
  const h = data.health;
  renderPairs('health', [
    ['status', h.status],
    ['uptime', `${h.uptimeSeconds} s`],
    ['MQTT', `${h.mqtt.connected ? 'connected' : 'not connected'}, ${h.mqtt.buffered} buffered, ${h.mqtt.dropped} dropped`],
    ['inference queue', `${h.queue.running} running, ${h.queue.waiting} waiting, ${h.queue.rejected} rejected`],
    ['load', data.load.join(' ')],
  ]);
  renderList('models', data.models.map((m) => `${m.task}: ${m.model}`));
  $('admin').hidden = !data.admin;
  if (data.admin) renderPairs('admin-details', Object.entries(data.admin));
}

async function refresh() {
  try {
    const response = await fetch('/api/dashboard', { headers: authHeaders(), cache: 'no-store' });
    if (response.status === 401) {
      notice(key ? 'That API key was not accepted.' : 'This device needs an API key: enter it above.');
      return;
    }
    if (!response.ok) {
      notice(`The device answered ${response.status}.`);
      return;
    }
    notice('');
    render(await response.json());
  } catch {
    notice('The device cannot be reached.');
  }
}

function show(page) {
  for (const name of ['cameras', 'try']) {
    $(`page-${name}`).hidden = name !== page;
    $(`tab-${name}`).classList.toggle('active', name === page);
  }
}

function route() {
  show(location.hash === '#try' ? 'try' : 'cameras');
}

async function tryApi(event) {
  event.preventDefault();
  const file = $('try-file').files[0];
  if (!file) return;
  const facemode = $('try-facemode').value;
  const form = new FormData();
  form.append('threshold', $('try-threshold').value);
  // jsonimage answers the face list and the pixelated picture at once; fill and black answer the picture.
  form.append('mode', facemode === 'pixel' ? 'json' : 'image');
  form.append('facemode', facemode === 'pixel' ? 'jsonimage' : facemode);
  form.append('hex', '00ff00');
  form.append('imagef', file, file.name);
  $('try-status').textContent = 'Analysing…';
  $('try-submit').disabled = true;
  try {
    const response = await fetch('/raypackfacev3', { method: 'POST', headers: authHeaders(), body: form });
    const type = response.headers.get('content-type') ?? '';
    if (!response.ok) {
      const body = type.includes('json') ? await response.json() : {};
      $('try-status').textContent = `Error ${response.status}: ${body.error?.message ?? response.statusText}`;
      return;
    }
    const img = $('try-image');
    if (type.includes('json')) {
      const body = await response.json();
      const { image, ...rest } = body;
      img.src = `data:image/jpeg;base64,${image}`;
      $('try-json').textContent = JSON.stringify(rest, null, 2);
      $('try-status').textContent = `${body.totalfaces} face(s) found and pixelated.`;
    } else {
      img.src = URL.createObjectURL(await response.blob());
      $('try-json').textContent = '';
      $('try-status').textContent = `Faces ${facemode === 'fill' ? 'filled' : 'shown as boxes on black'}.`;
    }
    img.hidden = false;
  } catch {
    $('try-status').textContent = 'The device cannot be reached.';
  } finally {
    $('try-submit').disabled = false;
  }
}

function start() {
  $('key').value = key;
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    key = $('key').value.trim();
    if (key) sessionStorage.setItem(KEY_STORE, key);
    for (const [id, entry] of cards) setImage(entry, id, true);
    void refresh();
  });
  $('key-clear').addEventListener('click', () => {
    key = '';
    $('key').value = '';
    sessionStorage.removeItem(KEY_STORE);
    void refresh();
  });
  $('try-form').addEventListener('submit', tryApi);
  window.addEventListener('hashchange', route);
  route();
  void refresh();
  timer = setInterval(refresh, 2000);
  window.addEventListener('pagehide', () => clearInterval(timer));
}

start();
