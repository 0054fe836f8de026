#!/usr/bin/env node
// A test SMSC on the npm package `smpp` (node-smpp): accepts binds, answers submit_sm,
// records every PDU it receives, and is driven by the tests over HTTP (JSON).
//
//   node smsc.js --port 2775 --control-port 2776 [--system-id ID --password PW]
//
// Prints one JSON line {"ready":true,"port":P,"control_port":C} on stdout once both
// listen (ports 0: the OS picks). Control API (JSON bodies and answers):
//   GET  /submits             every submit_sm received: fields, raw hex, decoded text, time
//   GET  /submitted           the same, compact: [destination_addr, client port, status]
//   GET  /count               {submits, first_t, last_t}: how many submit_sm, and when
//   GET  /pdus                every PDU received (command, status, session, time)
//   GET  /deliveries          every deliver_sm sent and the status its resp carried
//   GET  /sessions            bound sessions
//   GET  /pending             receipts/MO not yet acknowledged with ESME_ROK
//   POST /fail-next {count, status}     answer the next `count` submits with `status`
//                                        (0x58 throttled, 0x14 queue full, 0x0B bad dest...)
//   POST /silence-next {count}          never answer the next `count` submits
//   POST /receipt {message_id, stat, err?, done_date?, submit_date?, tlv?}  send a receipt
//   POST /auto-receipt {stat|null, rules?}  send a receipt for every accepted submit from
//                                        now on; rules {"3": "UNDELIV", "99": null}: by the
//                                        destination's longest matching last digits, that
//                                        stat instead (null: no receipt)
//   POST /mo {source, destination, text?, data_coding?, short_message_hex?, esm_class?}
//   POST /outage {seconds}              drop every session and stop listening for a while
//   POST /reset                         forget records and rules (not pending deliveries)
// A deliver_sm not answered with ESME_ROK (or sent with no receiver bound) stays pending:
// it is sent again every `redeliver_ms` (default 500) and whenever a receiver binds. A
// receipt goes to any receiving session bound with the system_id of the session that
// submitted its message (not only that session: it may be gone), round robin.
'use strict';

const fs = require('fs');
const http = require('http');
const smpp = require('smpp');
const defs = require('smpp/lib/defs');

// Keep short_message and the time fields raw: the tests check the octets we were sent.
defs.filters.message.decode = (value) => value;
defs.filters.time.decode = (value) => value;

function arg(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const SMPP_PORT = Number(arg('--port', '0'));
const CONTROL_PORT = Number(arg('--control-port', '0'));
const SYSTEM_ID = arg('--system-id', null);
const PASSWORD = arg('--password', null);
let redeliverMs = Number(arg('--redeliver-ms', '500'));

const state = {
  submits: [],
  pdus: [],
  deliveries: [],
  failNext: [], // statuses for the next submits
  silenceNext: 0,
  autoReceipt: null,
  autoRules: {},
  nextId: 1000,
  pending: [], // {key, pdu fields}
};
let nextPendingKey = 1;
let listening = false;
const now = () => performance.timeOrigin / 1000 + performance.now() / 1000;

// GSM 7-bit decoding for the record: the basic table, and the escape table of the
// default extension or (UDH IE 0x24 value 1) the Turkish single shift table.
const GSM = defs.gsmCoder.getCoder(0);
const GSM_TR = defs.gsmCoder.getCoder(1);
function decodeGsm(buf, turkish) {
  let out = '';
  for (let i = 0; i < buf.length; i++) {
    if (buf[i] === 0x1b && i + 1 < buf.length) {
      i += 1;
      const table = turkish ? GSM_TR : GSM;
      const ext = table.extCharListDec[table.chars[buf[i]]];
      out += ext === undefined ? '?' : ext;
    } else {
      out += GSM.chars[buf[i]];
    }
  }
  return out;
}

function parseUdh(sm, esmClass) {
  if (!(esmClass & 0x40) || !sm.length) return { udh: Buffer.alloc(0), ies: [], body: sm };
  const udh = sm.slice(0, sm[0] + 1);
  const ies = [];
  for (let i = 1; i + 1 < udh.length; ) {
    const len = udh[i + 1];
    ies.push({ iei: udh[i], data: udh.slice(i + 2, i + 2 + len).toString('hex') });
    i += 2 + len;
  }
  return { udh, ies, body: sm.slice(udh.length) };
}

function decodeText(sm, dataCoding, ies) {
  if (dataCoding === 8) {
    const copy = Buffer.from(sm);
    copy.swap16();
    return copy.toString('utf16le');
  }
  if (dataCoding === 0) {
    const turkish = ies.some((ie) => ie.iei === 0x24 && ie.data === '01');
    return decodeGsm(sm, turkish);
  }
  return sm.toString('latin1');
}

function str(v) {
  return v === undefined || v === null ? null : Buffer.isBuffer(v) ? v.toString('latin1') : v;
}

const sessions = new Set();

function receiverSessions() {
  return [...sessions].filter((s) => s.bound === 'trx' || s.bound === 'rx');
}

function onSubmit(session, pdu) {
  const sm = pdu.short_message || Buffer.alloc(0);
  const { udh, ies, body } = parseUdh(sm, pdu.esm_class);
  const record = {
    t: now(),
    session: session.id,
    port: session.port,
    bind: session.bound,
    sequence_number: pdu.sequence_number,
    source_addr: pdu.source_addr,
    source_addr_ton: pdu.source_addr_ton,
    source_addr_npi: pdu.source_addr_npi,
    destination_addr: pdu.destination_addr,
    dest_addr_ton: pdu.dest_addr_ton,
    dest_addr_npi: pdu.dest_addr_npi,
    esm_class: pdu.esm_class,
    data_coding: pdu.data_coding,
    registered_delivery: pdu.registered_delivery,
    validity_period: str(pdu.validity_period),
    schedule_delivery_time: str(pdu.schedule_delivery_time),
    protocol_id: pdu.protocol_id,
    short_message_hex: sm.toString('hex'),
    udh_hex: udh.toString('hex'),
    udh_ies: ies,
    text: decodeText(body, pdu.data_coding, ies),
    status: 0,
    message_id: null,
  };
  state.submits.push(record);
  if (state.silenceNext > 0) {
    state.silenceNext -= 1;
    record.status = null;
    return;
  }
  if (state.failNext.length) {
    record.status = state.failNext.shift();
    session.send(pdu.response({ command_status: record.status }));
    return;
  }
  record.message_id = 'M' + state.nextId++;
  session.send(pdu.response({ message_id: record.message_id }));
  if (state.autoReceipt) {
    const stat = autoStat(record.destination_addr);
    if (stat) queueReceipt({ message_id: record.message_id, stat, system_id: session.system_id });
  }
}

function smscTime(date) {
  const p = (n) => String(n).padStart(2, '0');
  return (
    p(date.getUTCFullYear() % 100) + p(date.getUTCMonth() + 1) + p(date.getUTCDate()) +
    p(date.getUTCHours()) + p(date.getUTCMinutes())
  );
}

// The auto-receipt's stat for a destination: the rule of its longest matching suffix.
function autoStat(destination) {
  let best = null;
  for (const suffix of Object.keys(state.autoRules)) {
    if (String(destination).endsWith(suffix) && (best === null || suffix.length > best.length)) {
      best = suffix;
    }
  }
  return best === null ? state.autoReceipt : state.autoRules[best];
}

const MESSAGE_STATES = { ENROUTE: 1, DELIVRD: 2, EXPIRED: 3, DELETED: 4, UNDELIV: 5, ACCEPTD: 6, UNKNOWN: 7, REJECTD: 8 };

function queueReceipt(r) {
  const stat = r.stat || 'DELIVRD';
  const done = r.done_date || smscTime(new Date());
  const text =
    `id:${r.message_id} sub:001 dlvrd:${stat === 'DELIVRD' ? '001' : '000'} ` +
    `submit date:${r.submit_date || done} done date:${done} stat:${stat} err:${r.err || '000'} text:`;
  const fields = {
    source_addr: r.source || '905320000000',
    source_addr_ton: 1,
    source_addr_npi: 1,
    destination_addr: r.destination || 'FINSMS',
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.from(r.text === false ? '' : text, 'latin1'),
  };
  if (r.tlv !== false) {
    fields.receipted_message_id = r.message_id;
    fields.message_state = MESSAGE_STATES[stat] || 7;
  }
  enqueue('receipt', fields, r.system_id || null);
}

function queueMo(m) {
  const dataCoding = m.data_coding === undefined ? 0 : m.data_coding;
  let sm;
  if (m.short_message_hex !== undefined) {
    sm = Buffer.from(m.short_message_hex, 'hex');
  } else if (dataCoding === 8) {
    sm = Buffer.from(m.text, 'utf16le');
    sm.swap16();
  } else {
    sm = defs.gsmCoder.encode(m.text, 0);
  }
  enqueue('mo', {
    source_addr: m.source,
    source_addr_ton: 1,
    source_addr_npi: 1,
    destination_addr: m.destination,
    esm_class: m.esm_class || 0,
    data_coding: dataCoding,
    short_message: sm,
  });
}

let rr = 0;
function enqueue(kind, fields, systemId) {
  const item = { key: nextPendingKey++, kind, fields, inflight: false, systemId: systemId || null };
  state.pending.push(item);
  deliver(item);
}

function deliver(item) {
  const receivers = receiverSessions().filter((s) => !item.systemId || s.system_id === item.systemId);
  if (item.inflight || !receivers.length) return;
  const session = receivers[rr++ % receivers.length];
  item.inflight = true;
  const record = { t: now(), key: item.key, kind: item.kind, session: session.id, status: null, resp_t: null };
  state.deliveries.push(record);
  const sent = session.deliver_sm(Object.assign({}, item.fields), (resp) => {
    item.inflight = false;
    session.inflight.delete(item);
    record.status = resp.command_status;
    record.resp_t = now();
    if (resp.command_status === 0) {
      state.pending = state.pending.filter((p) => p !== item);
    }
  });
  if (sent) session.inflight.add(item);
  else item.inflight = false;
}

function redeliverAll() {
  for (const item of state.pending) deliver(item);
}
setInterval(redeliverAll, redeliverMs).unref();

let sessionCounter = 0;
function onSession(session) {
  session.id = ++sessionCounter;
  session.bound = null;
  session.inflight = new Set();
  session.port = session.socket ? session.socket.remotePort : null;
  sessions.add(session);
  session.on('pdu', (pdu) => {
    state.pdus.push({
      t: now(), session: session.id, command: pdu.command,
      command_status: pdu.command_status, sequence_number: pdu.sequence_number,
    });
  });
  const bind = (kind) => (pdu) => {
    if ((SYSTEM_ID && pdu.system_id !== SYSTEM_ID) || (PASSWORD && pdu.password !== PASSWORD)) {
      session.send(pdu.response({ command_status: defs.errors.ESME_RBINDFAIL }));
      return;
    }
    session.bound = kind;
    session.system_id = pdu.system_id;
    session.send(pdu.response({ system_id: 'TESTSMSC' }));
    if (kind !== 'tx') setImmediate(redeliverAll);
  };
  session.on('bind_transceiver', bind('trx'));
  session.on('bind_transmitter', bind('tx'));
  session.on('bind_receiver', bind('rx'));
  session.on('submit_sm', (pdu) => onSubmit(session, pdu));
  session.on('enquire_link', (pdu) => session.send(pdu.response()));
  session.on('unbind', (pdu) => {
    session.send(pdu.response());
    session.bound = null;
    session.close();
  });
  const gone = () => {
    sessions.delete(session);
    // deliver_sm on a dead session never gets its resp: pending again.
    for (const item of session.inflight) item.inflight = false;
    session.inflight.clear();
  };
  session.on('close', gone);
  session.on('error', gone);
}

// --tls-key/--tls-cert (PEM files): SMPP over TLS, as some operators require.
const TLS_KEY = arg('--tls-key', null);
const TLS_CERT = arg('--tls-cert', null);
const tlsOptions = TLS_KEY ? { key: fs.readFileSync(TLS_KEY), cert: fs.readFileSync(TLS_CERT) } : {};
const server = smpp.createServer(tlsOptions, onSession);
server.on('error', (e) => {
  process.stderr.write(`smsc: ${e.message}\n`);
  process.exit(1);
});

function listen(port, done) {
  server.listen(port, '127.0.0.1', () => {
    listening = true;
    done(server.address().port);
  });
}

function outage(seconds) {
  listening = false;
  const port = server.address().port;
  server.close();
  for (const s of [...sessions]) s.destroy();
  setTimeout(() => listen(port, () => {}), seconds * 1000);
}

function readJson(req, done) {
  let body = '';
  req.on('data', (c) => (body += c));
  req.on('end', () => {
    try {
      done(null, body ? JSON.parse(body) : {});
    } catch (e) {
      done(e);
    }
  });
}

const routes = {
  'GET /submits': () => state.submits,
  'GET /submitted': () => state.submits.map((r) => [r.destination_addr, r.port, r.status]),
  'GET /count': () => ({
    submits: state.submits.length,
    first_t: state.submits.length ? state.submits[0].t : null,
    last_t: state.submits.length ? state.submits[state.submits.length - 1].t : null,
  }),
  'GET /pdus': () => state.pdus,
  'GET /deliveries': () => state.deliveries,
  'GET /pending': () => state.pending.map((p) => ({ key: p.key, kind: p.kind, inflight: p.inflight })),
  'GET /sessions': () => [...sessions].map((s) => ({ id: s.id, bound: s.bound, system_id: s.system_id })),
  'POST /fail-next': (b) => {
    for (let i = 0; i < (b.count || 1); i++) state.failNext.push(b.status);
    return { ok: true };
  },
  'POST /silence-next': (b) => {
    state.silenceNext += b.count || 1;
    return { ok: true };
  },
  'POST /receipt': (b) => {
    queueReceipt(b);
    return { ok: true };
  },
  'POST /auto-receipt': (b) => {
    state.autoReceipt = b.stat || null;
    state.autoRules = b.rules || {};
    return { ok: true };
  },
  'POST /mo': (b) => {
    queueMo(b);
    return { ok: true };
  },
  'POST /outage': (b) => {
    outage(b.seconds || 1);
    return { ok: true };
  },
  'POST /config': (b) => {
    if (b.redeliver_ms) redeliverMs = b.redeliver_ms;
    return { ok: true, listening };
  },
  'POST /reset': () => {
    Object.assign(state, {
      submits: [], pdus: [], deliveries: [], failNext: [], silenceNext: 0, autoReceipt: null, autoRules: {},
    });
    return { ok: true };
  },
};

const control = http.createServer((req, res) => {
  const route = routes[`${req.method} ${req.url}`];
  const reply = (code, value) => {
    res.writeHead(code, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(value));
  };
  if (!route) return reply(404, { error: `no route ${req.method} ${req.url}` });
  readJson(req, (err, body) => {
    if (err) return reply(400, { error: String(err) });
    try {
      reply(200, route(body));
    } catch (e) {
      reply(500, { error: String(e && e.stack) });
    }
  });
});

listen(SMPP_PORT, (port) => {
  control.listen(CONTROL_PORT, '127.0.0.1', () => {
    process.stdout.write(JSON.stringify({ ready: true, port, control_port: control.address().port }) + '\n');
  });
});
