// The Fetch plugin's prelude: the body of `function (host) { ... }`, run before the guest's code.
// It defines fetch, Headers and Response after the Fetch Standard on top of
// host.call("request", {url, method, headers: [[name, value], ...]}, body) (see fetch_plugin.c).
// The plugin checks again everything that matters to the policy; the checks here give the
// guest the TypeErrors it expects, and keep NUL out of strings the plugin reads as C strings.
'use strict';

// Captured now: guest code runs after this and may replace the globals.
const { ArrayBuffer, Number, Object, Promise, RangeError, Set, String, Symbol, TypeError, Uint8Array } = globalThis;
const URLSearchParamsClass = globalThis.URLSearchParams;
const parseJSON = JSON.parse;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const tokenPattern = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const surroundingWhitespace = /^[\t\n\r ]+|[\t\n\r ]+$/g;
const forbiddenInValue = /[\0\r\n]/;
// Statuses whose responses never have a body.
const nullBodyStatuses = [101, 103, 204, 205, 304];

function headerName(name, where) {
  const text = String(name);
  if (!tokenPattern.test(text)) {
    throw new TypeError(`${where}: "${text}" is not a valid header name; a name is a token such as X-Api-Key`);
  }
  return text.toLowerCase();
}

function headerValue(value, name, where) {
  const text = String(value).replace(surroundingWhitespace, '');
  if (forbiddenInValue.test(text)) {
    throw new TypeError(`${where}: the value of header "${name}" contains CR, LF or NUL, which header values may not`);
  }
  return text;
}

// Set in the classes' static blocks: what fetch needs of them beyond their public API.
let headerPairs;
let headersFromNetwork;
let responseFromNetwork;

class Headers {
  // [lowercased name, value] in the order added.
  #pairs = [];

  constructor(init = undefined) {
    if (init === undefined) return;
    if (typeof init !== 'object' || init === null) {
      throw new TypeError(
        'Headers: init must be a Headers, an array of [name, value] pairs or an object of names to values');
    }
    if (#pairs in init) {
      this.#pairs = init.#pairs.map(([name, value]) => [name, value]);
    } else if (typeof init[Symbol.iterator] === 'function') {
      for (const pair of init) {
        const iterable = typeof pair === 'object' && pair !== null && typeof pair[Symbol.iterator] === 'function';
        const items = iterable ? [...pair] : [];
        if (items.length !== 2) throw new TypeError('Headers: each header must be a [name, value] pair');
        this.#add(items[0], items[1], 'Headers');
      }
    } else {
      for (const name of Object.keys(init)) this.#add(name, init[name], 'Headers');
    }
  }

  #add(name, value, where) {
    const key = headerName(name, where);
    this.#pairs.push([key, headerValue(value, key, where)]);
  }

  #valuesOf(key) {
    return this.#pairs.filter(([name]) => name === key).map(([, value]) => value);
  }

  append(name, value) {
    this.#add(name, value, 'Headers.append');
  }

  delete(name) {
    const key = headerName(name, 'Headers.delete');
    this.#pairs = this.#pairs.filter(([other]) => other !== key);
  }

  get(name) {
    const values = this.#valuesOf(headerName(name, 'Headers.get'));
    return values.length === 0 ? null : values.join(', ');
  }

  getSetCookie() {
    return this.#valuesOf('set-cookie');
  }

  has(name) {
    const key = headerName(name, 'Headers.has');
    return this.#pairs.some(([other]) => other === key);
  }

  set(name, value) {
    const key = headerName(name, 'Headers.set');
    const text = headerValue(value, key, 'Headers.set');
    const first = this.#pairs.findIndex(([other]) => other === key);
    if (first < 0) {
      this.#pairs.push([key, text]);
    } else {
      this.#pairs[first] = [key, text];
      this.#pairs = this.#pairs.filter(([other], index) => other !== key || index === first);
    }
  }

  forEach(callback, thisArg = undefined) {
    if (typeof callback !== 'function') throw new TypeError('Headers.forEach: the callback must be a function');
    for (const [name, value] of this) callback.call(thisArg, value, name, this);
  }

  // Sorted by name, repeats joined with ", " except Set-Cookie's, as the standard iterates.
  * entries() {
    const names = [...new Set(this.#pairs.map(([name]) => name))].sort();
    for (const name of names) {
      if (name === 'set-cookie') {
        for (const value of this.#valuesOf(name)) yield [name, value];
      } else {
        yield [name, this.#valuesOf(name).join(', ')];
      }
    }
  }

  * keys() {
    for (const [name] of this.entries()) yield name;
  }

  * values() {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator]() {
    return this.entries();
  }

  static {
    headerPairs = (headers) => headers.#pairs.map(([name, value]) => [name, value]);
    // The plugin has already lowercased the names and dropped what Headers would refuse.
    headersFromNetwork = (pairs) => {
      const headers = new Headers();
      headers.#pairs = pairs;
      return headers;
    };
  }
}

// The bytes of a request or response body and the content type it implies.
function extractBody(body) {
  if (body === undefined || body === null) return { bytes: null, contentType: null };
  if (body instanceof URLSearchParamsClass) {
    return { bytes: encoder.encode(body.toString()), contentType: 'application/x-www-form-urlencoded;charset=UTF-8' };
  }
  if (body instanceof ArrayBuffer) return { bytes: new Uint8Array(body.slice(0)), contentType: null };
  if (ArrayBuffer.isView(body)) {
    return { bytes: new Uint8Array(body.buffer, body.byteOffset, body.byteLength).slice(), contentType: null };
  }
  return { bytes: encoder.encode(String(body)), contentType: 'text/plain;charset=UTF-8' };
}

class Response {
  #type = 'default';
  #url = '';
  #redirected = false;
  #status = 200;
  #statusText = '';
  #headers;
  // null for no body; read at most once.
  #bytes = null;
  #bodyUsed = false;

  constructor(body = null, init = undefined) {
    const options = init ?? {};
    const status = options.status === undefined ? 200 : Number(options.status);
    if (!Number.isInteger(status) || status < 200 || status > 599) {
      throw new RangeError(`Response: status ${options.status} is not a whole number from 200 to 599`);
    }
    const statusText = options.statusText === undefined ? '' : String(options.statusText);
    if (forbiddenInValue.test(statusText)) throw new TypeError('Response: statusText may not contain CR, LF or NUL');
    const { bytes, contentType } = extractBody(body);
    if (bytes !== null && nullBodyStatuses.includes(status)) {
      throw new TypeError(`Response: a response with status ${status} cannot have a body`);
    }
    this.#status = status;
    this.#statusText = statusText;
    this.#headers = new Headers(options.headers);
    if (contentType !== null && !this.#headers.has('content-type')) this.#headers.set('content-type', contentType);
    this.#bytes = bytes;
  }

  get type() { return this.#type; }
  get url() { return this.#url; }
  get redirected() { return this.#redirected; }
  get status() { return this.#status; }
  get ok() { return this.#status >= 200 && this.#status <= 299; }
  get statusText() { return this.#statusText; }
  get headers() { return this.#headers; }
  get bodyUsed() { return this.#bodyUsed; }

  arrayBuffer() {
    return this.#consume('arrayBuffer', (bytes) => bytes.slice().buffer);
  }

  bytes() {
    return this.#consume('bytes', (bytes) => bytes.slice());
  }

  text() {
    return this.#consume('text', (bytes) => decoder.decode(bytes));
  }

  json() {
    return this.#consume('json', (bytes) => parseJSON(decoder.decode(bytes)));
  }

  clone() {
    if (this.#bodyUsed) throw new TypeError('Response.clone: the body has already been read; clone before reading');
    const copy = new Response();
    copy.#type = this.#type;
    copy.#url = this.#url;
    copy.#redirected = this.#redirected;
    copy.#status = this.#status;
    copy.#statusText = this.#statusText;
    copy.#headers = new Headers(this.#headers);
    copy.#bytes = this.#bytes;
    return copy;
  }

  #consume(method, convert) {
    if (this.#bodyUsed) {
      return Promise.reject(new TypeError(
        `Response.${method}: the body has already been read; call clone() before the first read to read it twice`));
    }
    // A response without a body reads as empty as often as asked, as in the standard.
    if (this.#bytes !== null) this.#bodyUsed = true;
    try {
      return Promise.resolve(convert(this.#bytes ?? new Uint8Array(0)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  static {
    responseFromNetwork = (value, bytes, method) => {
      const response = new Response();
      response.#type = 'basic';
      response.#url = value.url;
      response.#redirected = value.redirected;
      response.#status = value.status;
      response.#statusText = value.statusText;
      response.#headers = headersFromNetwork(value.headers);
      const hasBody = method !== 'HEAD' && !nullBodyStatuses.includes(value.status);
      response.#bytes = hasBody ? bytes ?? new Uint8Array(0) : null;
      return response;
    };
  }
}

for (const type of [Headers, Response]) {
  Object.defineProperty(type.prototype, Symbol.toStringTag, { value: type.name, configurable: true });
}

// Everything fetch rejects with is a TypeError, as in the standard; the plugin's code stays.
function asTypeError(error) {
  const failure = new TypeError(error?.message ?? String(error), { cause: error });
  if (error?.code !== undefined) failure.code = error.code;
  return failure;
}

async function fetch(input, init = undefined) {
  const options = init ?? {};
  // A URL object gives its href.
  const url = String(input);
  const method = options.method === undefined ? 'GET' : String(options.method);
  if (url.includes('\0')) throw new TypeError('fetch: the URL contains a NUL character');
  if (method.includes('\0')) throw new TypeError('fetch: the method contains a NUL character');
  if (options.redirect !== undefined && options.redirect !== 'follow') {
    throw new TypeError(
      `fetch: redirect "${options.redirect}" is not supported; redirects are followed, each checked by the policy`);
  }
  const headers = new Headers(options.headers);
  const { bytes, contentType } = extractBody(options.body);
  const standardMethod = method.toUpperCase();
  if (bytes !== null && (standardMethod === 'GET' || standardMethod === 'HEAD')) {
    throw new TypeError(`fetch: a ${standardMethod} request cannot have a body`);
  }
  if (contentType !== null && !headers.has('content-type')) headers.set('content-type', contentType);
  let reply;
  try {
    reply = await host.call('request', { url, method, headers: headerPairs(headers) }, bytes ?? undefined);
  } catch (error) {
    throw asTypeError(error);
  }
  return responseFromNetwork(reply.value, reply.bytes, standardMethod);
}

for (const [name, value] of [['fetch', fetch], ['Headers', Headers], ['Response', Response]]) {
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}
