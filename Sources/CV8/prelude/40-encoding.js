  // ---- DOMException ----------------------------------------------------------------------------
  const domExceptionCodes = {
    __proto__: null,
    IndexSizeError: 1, HierarchyRequestError: 3, WrongDocumentError: 4, InvalidCharacterError: 5,
    NoModificationAllowedError: 7, NotFoundError: 8, NotSupportedError: 9, InvalidStateError: 11,
    SyntaxError: 12, InvalidModificationError: 13, NamespaceError: 14, InvalidAccessError: 15,
    TypeMismatchError: 17, SecurityError: 18, NetworkError: 19, AbortError: 20, URLMismatchError: 21,
    QuotaExceededError: 22, TimeoutError: 23, InvalidNodeTypeError: 24, DataCloneError: 25,
  };
  class DOMException extends ErrorCtor {
    #name;
    constructor(message = '', options = 'Error') {
      super(message === undefined ? '' : StringCtor(message));
      let name = 'Error';
      if (typeof options === 'object' && options !== null) {
        const n = options.name;
        name = n === undefined ? 'Error' : StringCtor(n);
        if ('cause' in options) define(this, 'cause', options.cause);
      } else if (options !== undefined) {
        name = StringCtor(options);
      }
      this.#name = name;
      try { ErrorCaptureStackTrace(this, DOMException); } catch { /* no stack */ }
    }
    get name() { return this.#name; }
    get code() { return domExceptionCodes[this.#name] || 0; }
  }
  {
    const names = ReflectOwnKeys(domExceptionCodes);
    for (let i = 0; i < names.length; i++) {
      const constantName = StringPrototypeToUpperCase(names[i]);
      void constantName;
    }
    const legacy = [['INDEX_SIZE_ERR', 1], ['DOMSTRING_SIZE_ERR', 2], ['HIERARCHY_REQUEST_ERR', 3], ['WRONG_DOCUMENT_ERR', 4],
      ['INVALID_CHARACTER_ERR', 5], ['NO_DATA_ALLOWED_ERR', 6], ['NO_MODIFICATION_ALLOWED_ERR', 7], ['NOT_FOUND_ERR', 8],
      ['NOT_SUPPORTED_ERR', 9], ['INUSE_ATTRIBUTE_ERR', 10], ['INVALID_STATE_ERR', 11], ['SYNTAX_ERR', 12],
      ['INVALID_MODIFICATION_ERR', 13], ['NAMESPACE_ERR', 14], ['INVALID_ACCESS_ERR', 15], ['VALIDATION_ERR', 16],
      ['TYPE_MISMATCH_ERR', 17], ['SECURITY_ERR', 18], ['NETWORK_ERR', 19], ['ABORT_ERR', 20], ['URL_MISMATCH_ERR', 21],
      ['QUOTA_EXCEEDED_ERR', 22], ['TIMEOUT_ERR', 23], ['INVALID_NODE_TYPE_ERR', 24], ['DATA_CLONE_ERR', 25]];
    for (let i = 0; i < legacy.length; i++) {
      const d = { __proto__: null, value: legacy[i][1], writable: false, enumerable: true, configurable: false };
      ObjectDefineProperty(DOMException, legacy[i][0], d);
      ObjectDefineProperty(DOMException.prototype, legacy[i][0], d);
    }
    ObjectDefineProperty(DOMException.prototype, Symbol.toStringTag, { __proto__: null, value: 'DOMException', configurable: true });
  }
  define(global, 'DOMException', DOMException);

  // ---- atob / btoa -----------------------------------------------------------------------------
  const base64Chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const base64Values = list();
  for (let i = 0; i < 128; i++) base64Values[i] = -1;
  for (let i = 0; i < 64; i++) base64Values[StringPrototypeCharCodeAt(base64Chars, i)] = i;
  function invalidCharacter(message) { return new DOMException(message, 'InvalidCharacterError'); }
  define(global, 'btoa', function btoa(data) {
    if (arguments.length === 0) throw new TypeErrorCtor('The "data" argument must be specified');
    data = typeof data === 'symbol' ? SymbolPrototypeToString(data) : StringCtor(data);
    const length = data.length;
    for (let i = 0; i < length; i++) {
      if (StringPrototypeCharCodeAt(data, i) > 0xff) throw invalidCharacter('Invalid character');
    }
    const parts = list();
    let chunk = '';
    for (let i = 0; i < length; i += 3) {
      const b0 = StringPrototypeCharCodeAt(data, i);
      const b1 = i + 1 < length ? StringPrototypeCharCodeAt(data, i + 1) : 0;
      const b2 = i + 2 < length ? StringPrototypeCharCodeAt(data, i + 2) : 0;
      chunk += base64Chars[b0 >> 2] + base64Chars[((b0 & 3) << 4) | (b1 >> 4)] +
        (i + 1 < length ? base64Chars[((b1 & 15) << 2) | (b2 >> 6)] : '=') +
        (i + 2 < length ? base64Chars[b2 & 63] : '=');
      if (chunk.length >= 8192) { push(parts, chunk); chunk = ''; }
    }
    push(parts, chunk);
    return join(parts, '');
  });
  define(global, 'atob', function atob(data) {
    if (arguments.length === 0) throw new TypeErrorCtor('The "data" argument must be specified');
    data = typeof data === 'symbol' ? SymbolPrototypeToString(data) : StringCtor(data);
    const values = list();
    for (let i = 0; i < data.length; i++) {
      const c = StringPrototypeCharCodeAt(data, i);
      if (c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20) continue;
      push(values, c);
    }
    let length = values.length;
    if (length % 4 === 0 && length > 0) {
      if (values[length - 1] === 61) {
        length--;
        if (values[length - 1] === 61) length--;
      }
    }
    if (length % 4 === 1) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    for (let i = 0; i < length; i++) {
      const c = values[i];
      if (c >= 128 || base64Values[c] === -1) throw invalidCharacter('The string to be decoded is not correctly encoded.');
    }
    const parts = list();
    let chunk = '';
    let buffer = 0;
    let bits = 0;
    for (let i = 0; i < length; i++) {
      buffer = (buffer << 6) | base64Values[values[i]];
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        chunk += StringFromCharCode((buffer >> bits) & 0xff);
        if (chunk.length >= 8192) { push(parts, chunk); chunk = ''; }
      }
    }
    push(parts, chunk);
    return join(parts, '');
  });

  // ---- TextEncoder / TextDecoder -----------------------------------------------------------------
  function toUSVString(value) {
    return typeof value === 'symbol' ? SymbolPrototypeToString(value) : StringCtor(value);
  }
  class TextEncoder {
    get encoding() { return 'utf-8'; }
    encode(input = '') {
      return nativeUtf8Encode(toUSVString(input));
    }
    encodeInto(source, destination) {
      source = toUSVString(source);
      if (typedArrayName(destination) !== 'Uint8Array') throw new TypeErrorCtor('The "dest" argument must be an instance of Uint8Array.');
      const available = TypedArrayPrototypeGetLength(destination);
      let read = 0;
      let written = 0;
      const length = source.length;
      while (read < length) {
        let c = StringPrototypeCharCodeAt(source, read);
        let units = 1;
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = read + 1 < length ? StringPrototypeCharCodeAt(source, read + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
            c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
            units = 2;
          } else {
            c = 0xfffd;
          }
        }
        const size = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
        if (written + size > available) break;
        if (size === 1) {
          destination[written] = c;
        } else if (size === 2) {
          destination[written] = 0xc0 | (c >> 6);
          destination[written + 1] = 0x80 | (c & 63);
        } else if (size === 3) {
          destination[written] = 0xe0 | (c >> 12);
          destination[written + 1] = 0x80 | ((c >> 6) & 63);
          destination[written + 2] = 0x80 | (c & 63);
        } else {
          destination[written] = 0xf0 | (c >> 18);
          destination[written + 1] = 0x80 | ((c >> 12) & 63);
          destination[written + 2] = 0x80 | ((c >> 6) & 63);
          destination[written + 3] = 0x80 | (c & 63);
        }
        written += size;
        read += units;
      }
      return { read, written };
    }
  }
  ObjectDefineProperty(TextEncoder.prototype, Symbol.toStringTag, { __proto__: null, value: 'TextEncoder', configurable: true });
  define(global, 'TextEncoder', TextEncoder);

  // Bytes of a BufferSource as a Uint8Array view (no copy).
  function bytesOf(input) {
    if (typedArrayName(input) !== undefined) {
      return new Uint8ArrayCtor(TypedArrayPrototypeGetBuffer(input), TypedArrayPrototypeGetByteOffset(input), TypedArrayPrototypeGetByteLength(input));
    }
    if (brand(DataViewPrototypeGetByteLength, input)) {
      return new Uint8ArrayCtor(DataViewPrototypeGetBuffer(input), DataViewPrototypeGetByteOffset(input), DataViewPrototypeGetByteLength(input));
    }
    if (brand(ArrayBufferPrototypeGetByteLength, input) || brand(SharedArrayBufferPrototypeGetByteLength, input)) {
      return new Uint8ArrayCtor(input);
    }
    return undefined;
  }
  // Length of the valid UTF-8 prefix; `incompleteTail` is set when the bytes end inside a
  // sequence that could still be completed.
  function utf8Validate(bytes, length) {
    let i = 0;
    while (i < length) {
      const b = bytes[i];
      if (b < 0x80) { i++; continue; }
      let needed;
      let lower = 0x80;
      let upper = 0xbf;
      if (b >= 0xc2 && b <= 0xdf) needed = 1;
      else if (b >= 0xe0 && b <= 0xef) { needed = 2; if (b === 0xe0) lower = 0xa0; if (b === 0xed) upper = 0x9f; }
      else if (b >= 0xf0 && b <= 0xf4) { needed = 3; if (b === 0xf0) lower = 0x90; if (b === 0xf4) upper = 0x8f; }
      else return { valid: i, incomplete: false };
      let j = 1;
      for (; j <= needed; j++) {
        if (i + j >= length) return { valid: i, incomplete: true };
        const c = bytes[i + j];
        if (c < (j === 1 ? lower : 0x80) || c > (j === 1 ? upper : 0xbf)) return { valid: i, incomplete: false };
      }
      i += needed + 1;
    }
    return { valid: length, incomplete: false };
  }
  // Bytes at the end that start a sequence still waiting for its continuation bytes.
  function incompleteTail(bytes, length) {
    for (let k = 1; k <= 3 && k <= length; k++) {
      const b = bytes[length - k];
      if ((b & 0xc0) === 0x80) continue;
      const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
      if (size <= k) return 0;
      const check = utf8Validate(TypedArrayPrototypeSubarray(bytes, length - k, length), k);
      return check.valid === 0 && check.incomplete ? k : 0;
    }
    return 0;
  }
  class TextDecoder {
    #fatal;
    #ignoreBOM;
    #pending;
    #bomSeen;
    constructor(label = 'utf-8', options = undefined) {
      let encoding = StringPrototypeToLowerCase(toUSVString(label));
      let start = 0;
      let end = encoding.length;
      const isSpace = (c) => c === 0x09 || c === 0x0a || c === 0x0c || c === 0x0d || c === 0x20;
      while (start < end && isSpace(StringPrototypeCharCodeAt(encoding, start))) start++;
      while (end > start && isSpace(StringPrototypeCharCodeAt(encoding, end - 1))) end--;
      encoding = StringPrototypeSlice(encoding, start, end);
      if (encoding !== 'utf-8' && encoding !== 'utf8' && encoding !== 'unicode-1-1-utf-8' &&
          encoding !== 'unicode11utf8' && encoding !== 'unicode20utf8' && encoding !== 'x-unicode20utf8') {
        throw new RangeErrorCtor('The "' + encoding + '" encoding is not supported');
      }
      let fatal = false;
      let ignoreBOM = false;
      if (options !== undefined && options !== null) {
        if (typeof options !== 'object' && typeof options !== 'function') throw new TypeErrorCtor('The "options" argument must be of type object.');
        fatal = !!options.fatal;
        ignoreBOM = !!options.ignoreBOM;
      }
      this.#fatal = fatal;
      this.#ignoreBOM = ignoreBOM;
      this.#pending = undefined;
      this.#bomSeen = false;
    }
    get encoding() { return 'utf-8'; }
    get fatal() { return this.#fatal; }
    get ignoreBOM() { return this.#ignoreBOM; }
    decode(input = undefined, options = undefined) {
      let bytes;
      if (input === undefined) {
        bytes = new Uint8ArrayCtor(0);
      } else {
        bytes = bytesOf(input);
        if (bytes === undefined) {
          throw new TypeErrorCtor('The "input" argument must be an instance of ArrayBuffer or ArrayBufferView.');
        }
      }
      const stream = options !== undefined && options !== null && !!options.stream;
      if (this.#pending !== undefined) {
        const pending = this.#pending;
        const pendingLength = TypedArrayPrototypeGetLength(pending);
        const combined = new Uint8ArrayCtor(pendingLength + TypedArrayPrototypeGetLength(bytes));
        TypedArrayPrototypeSet(combined, pending, 0);
        TypedArrayPrototypeSet(combined, bytes, pendingLength);
        bytes = combined;
        this.#pending = undefined;
      }
      let length = TypedArrayPrototypeGetLength(bytes);
      if (stream) {
        const tail = incompleteTail(bytes, length);
        if (tail > 0) {
          this.#pending = new Uint8ArrayCtor(TypedArrayPrototypeSubarray(bytes, length - tail, length));
          length -= tail;
          bytes = TypedArrayPrototypeSubarray(bytes, 0, length);
        }
      }
      if (this.#fatal && utf8Validate(bytes, length).valid !== length) {
        this.#bomSeen = false;
        this.#pending = undefined;
        throw new TypeErrorCtor('The encoded data was not valid for encoding utf-8');
      }
      let text = length === 0 ? '' : nativeUtf8Decode(bytes);
      if (!this.#bomSeen && text.length > 0) {
        if (!this.#ignoreBOM && StringPrototypeCharCodeAt(text, 0) === 0xfeff) text = StringPrototypeSlice(text, 1);
        this.#bomSeen = true;
      }
      if (!stream) {
        this.#bomSeen = false;
        this.#pending = undefined;
      }
      return text;
    }
  }
  ObjectDefineProperty(TextDecoder.prototype, Symbol.toStringTag, { __proto__: null, value: 'TextDecoder', configurable: true });
  define(global, 'TextDecoder', TextDecoder);

