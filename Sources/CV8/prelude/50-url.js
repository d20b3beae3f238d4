  // ---- URL / URLSearchParams (WHATWG URL) --------------------------------------------------------
  // Installed where it is first used in a lean context (see installWhenUsed). inspect asks these:
  let isURLObject = () => false;
  let isURLSearchParamsObject = () => false;
  let searchParamsEntries;
  let urlInspectEntries;
  function installURL() {
    const specialSchemes = { __proto__: null, 'ftp': 21, 'file': null, 'http': 80, 'https': 443, 'ws': 80, 'wss': 443 };
    function isSpecialScheme(scheme) { return scheme in specialSchemes; }
    const hexDigits = '0123456789ABCDEF';
    function isAsciiAlpha(c) { return (c >= 65 && c <= 90) || (c >= 97 && c <= 122); }
    function isAsciiDigit(c) { return c >= 48 && c <= 57; }
    function isAsciiHex(c) { return isAsciiDigit(c) || (c >= 65 && c <= 70) || (c >= 97 && c <= 102); }
    function hexValue(c) { return c <= 57 ? c - 48 : (c | 0x20) - 87; }
    function inC0(c) { return c < 0x20 || c > 0x7e; }
    function inFragmentSet(c) { return inC0(c) || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x60; }
    function inQuerySet(c) { return inC0(c) || c === 0x20 || c === 0x22 || c === 0x23 || c === 0x3c || c === 0x3e; }
    function inSpecialQuerySet(c) { return inQuerySet(c) || c === 0x27; }
    function inPathSet(c) { return inQuerySet(c) || c === 0x3f || c === 0x60 || c === 0x7b || c === 0x7d; }
    function inUserinfoSet(c) {
      return inPathSet(c) || c === 0x2f || c === 0x3a || c === 0x3b || c === 0x3d || c === 0x40 ||
        (c >= 0x5b && c <= 0x5e) || c === 0x7c;
    }
    function percentByte(b) { return '%' + hexDigits[b >> 4] + hexDigits[b & 15]; }
    function percentEncode(str, inSet) {
      let out = '';
      const length = str.length;
      for (let i = 0; i < length; i++) {
        let c = StringPrototypeCharCodeAt(str, i);
        if (c < 0x80) { out += inSet(c) ? percentByte(c) : str[i]; continue; }
        if (c >= 0xd800 && c <= 0xdfff) {
          const next = i + 1 < length ? StringPrototypeCharCodeAt(str, i + 1) : 0;
          if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) { c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00); i++; } else c = 0xfffd;
        }
        if (c < 0x800) out += percentByte(0xc0 | (c >> 6)) + percentByte(0x80 | (c & 63));
        else if (c < 0x10000) out += percentByte(0xe0 | (c >> 12)) + percentByte(0x80 | ((c >> 6) & 63)) + percentByte(0x80 | (c & 63));
        else out += percentByte(0xf0 | (c >> 18)) + percentByte(0x80 | ((c >> 12) & 63)) + percentByte(0x80 | ((c >> 6) & 63)) + percentByte(0x80 | (c & 63));
      }
      return out;
    }
    // Percent-decodes to bytes, then UTF-8 decodes (invalid sequences become U+FFFD).
    function percentDecode(str, plusAsSpace) {
      const input = nativeUtf8Encode(str);
      const length = TypedArrayPrototypeGetLength(input);
      const out = new Uint8ArrayCtor(length);
      let n = 0;
      for (let i = 0; i < length; i++) {
        const b = input[i];
        if (b === 0x25 && i + 2 < length && isAsciiHex(input[i + 1]) && isAsciiHex(input[i + 2])) {
          out[n++] = (hexValue(input[i + 1]) << 4) | hexValue(input[i + 2]);
          i += 2;
        } else {
          out[n++] = plusAsSpace && b === 0x2b ? 0x20 : b;
        }
      }
      return n === 0 ? '' : nativeUtf8Decode(TypedArrayPrototypeSubarray(out, 0, n));
    }

    // Punycode (RFC 3492) for internationalized domain labels.
    function punycodeEncode(input) {
      const codePoints = list();
      for (let i = 0; i < input.length; i++) {
        const c = StringPrototypeCodePointAt(input, i);
        if (c > 0xffff) i++;
        push(codePoints, c);
      }
      let output = '';
      for (let i = 0; i < codePoints.length; i++) if (codePoints[i] < 0x80) output += StringFromCharCode(codePoints[i]);
      const basicLength = output.length;
      let handled = basicLength;
      if (basicLength > 0) output += '-';
      let n = 128;
      let delta = 0;
      let bias = 72;
      const digit = (d) => StringFromCharCode(d + 22 + 75 * (d < 26));
      const adapt = (delta, numPoints, firstTime) => {
        let k = 0;
        delta = firstTime ? MathFloor(delta / 700) : delta >> 1;
        delta += MathFloor(delta / numPoints);
        for (; delta > 455; k += 36) delta = MathFloor(delta / 35);
        return MathFloor(k + 36 * delta / (delta + 38));
      };
      while (handled < codePoints.length) {
        let m = 0x7fffffff;
        for (let i = 0; i < codePoints.length; i++) if (codePoints[i] >= n && codePoints[i] < m) m = codePoints[i];
        delta += (m - n) * (handled + 1);
        n = m;
        for (let i = 0; i < codePoints.length; i++) {
          const c = codePoints[i];
          if (c < n) delta++;
          if (c === n) {
            let q = delta;
            for (let k = 36; ; k += 36) {
              const t = k <= bias ? 1 : (k >= bias + 26 ? 26 : k - bias);
              if (q < t) break;
              output += digit(t + (q - t) % (36 - t));
              q = MathFloor((q - t) / (36 - t));
            }
            output += digit(q);
            bias = adapt(delta, handled + 1, handled === basicLength);
            delta = 0;
            handled++;
          }
        }
        delta++;
        n++;
      }
      return output;
    }
    function isForbiddenHostCodePoint(c) {
      return c === 0 || c === 9 || c === 0xa || c === 0xd || c === 0x20 || c === 0x23 || c === 0x2f || c === 0x3a ||
        c === 0x3c || c === 0x3e || c === 0x3f || c === 0x40 || c === 0x5b || c === 0x5c || c === 0x5d || c === 0x5e || c === 0x7c;
    }
    function isForbiddenDomainCodePoint(c) { return isForbiddenHostCodePoint(c) || c <= 0x1f || c === 0x25 || c === 0x7f; }
    function domainToASCII(domain) {
      let ascii = true;
      for (let i = 0; i < domain.length; i++) if (StringPrototypeCharCodeAt(domain, i) >= 0x80) { ascii = false; break; }
      if (ascii) return StringPrototypeToLowerCase(domain);
      let normalized = StringPrototypeToLowerCase(StringPrototypeNormalize(domain, 'NFC'));
      // Full-width and ideographic dots separate labels too.
      let labelsText = '';
      for (let i = 0; i < normalized.length; i++) {
        const c = StringPrototypeCharCodeAt(normalized, i);
        labelsText += c === 0x3002 || c === 0xff0e || c === 0xff61 ? '.' : normalized[i];
      }
      normalized = labelsText;
      let result = '';
      let start = 0;
      for (;;) {
        const dot = StringPrototypeIndexOf(normalized, '.', start);
        const label = StringPrototypeSlice(normalized, start, dot === -1 ? normalized.length : dot);
        let labelAscii = true;
        for (let i = 0; i < label.length; i++) if (StringPrototypeCharCodeAt(label, i) >= 0x80) { labelAscii = false; break; }
        result += labelAscii ? label : 'xn--' + punycodeEncode(label);
        if (dot === -1) break;
        result += '.';
        start = dot + 1;
      }
      return result;
    }
    function parseIPv4Number(part) {
      if (part === '') return NaN;
      let radix = 10;
      if (part.length >= 2 && part[0] === '0' && (part[1] === 'x' || part[1] === 'X')) { radix = 16; part = StringPrototypeSlice(part, 2); }
      else if (part.length >= 2 && part[0] === '0') { radix = 8; part = StringPrototypeSlice(part, 1); }
      if (part === '') return 0;
      let value = 0;
      for (let i = 0; i < part.length; i++) {
        const c = StringPrototypeCharCodeAt(part, i);
        let d;
        if (radix === 16) { if (!isAsciiHex(c)) return NaN; d = hexValue(c); }
        else { if (!isAsciiDigit(c)) return NaN; d = c - 48; if (d >= radix) return NaN; }
        value = value * radix + d;
      }
      return value;
    }
    function splitOn(str, ch) {
      const parts = list();
      let start = 0;
      for (;;) {
        const index = StringPrototypeIndexOf(str, ch, start);
        if (index === -1) { push(parts, StringPrototypeSlice(str, start)); return parts; }
        push(parts, StringPrototypeSlice(str, start, index));
        start = index + 1;
      }
    }
    function endsInANumber(host) {
      const parts = splitOn(host, '.');
      if (parts[parts.length - 1] === '') {
        if (parts.length === 1) return false;
        parts.length -= 1;
      }
      const last = parts[parts.length - 1];
      if (last !== '') {
        let digits = true;
        for (let i = 0; i < last.length; i++) if (!isAsciiDigit(StringPrototypeCharCodeAt(last, i))) { digits = false; break; }
        if (digits) return true;
      }
      return !NumberIsNaN(parseIPv4Number(last)) && last.length >= 2 && last[0] === '0' && (last[1] === 'x' || last[1] === 'X');
    }
    function parseIPv4(host) {
      const parts = splitOn(host, '.');
      if (parts[parts.length - 1] === '' && parts.length > 1) parts.length -= 1;
      if (parts.length > 4) return null;
      const numbers = list();
      for (let i = 0; i < parts.length; i++) {
        const n = parseIPv4Number(parts[i]);
        if (NumberIsNaN(n)) return null;
        push(numbers, n);
      }
      for (let i = 0; i < numbers.length - 1; i++) if (numbers[i] > 255) return null;
      if (numbers[numbers.length - 1] >= 256 ** (5 - numbers.length)) return null;
      let ipv4 = numbers[numbers.length - 1];
      for (let i = 0; i < numbers.length - 1; i++) ipv4 += numbers[i] * 256 ** (3 - i);
      let out = '';
      for (let i = 0; i < 4; i++) {
        out = (ipv4 % 256) + (i === 0 ? '' : '.') + out;
        ipv4 = MathFloor(ipv4 / 256);
      }
      return out;
    }
    function parseIPv6(input) {
      const address = [0, 0, 0, 0, 0, 0, 0, 0];
      let pieceIndex = 0;
      let compress = null;
      let p = 0;
      const length = input.length;
      const at = (i) => (i < length ? StringPrototypeCharCodeAt(input, i) : -1);
      if (at(p) === 58) {
        if (at(p + 1) !== 58) return null;
        p += 2;
        pieceIndex++;
        compress = pieceIndex;
      }
      while (p < length) {
        if (pieceIndex === 8) return null;
        if (at(p) === 58) {
          if (compress !== null) return null;
          p++;
          pieceIndex++;
          compress = pieceIndex;
          continue;
        }
        let value = 0;
        let len = 0;
        while (len < 4 && isAsciiHex(at(p))) { value = value * 16 + hexValue(at(p)); p++; len++; }
        if (at(p) === 46) {
          if (len === 0) return null;
          p -= len;
          if (pieceIndex > 6) return null;
          let numbersSeen = 0;
          while (p < length) {
            let ipv4Piece = null;
            if (numbersSeen > 0) {
              if (at(p) === 46 && numbersSeen < 4) p++;
              else return null;
            }
            if (!isAsciiDigit(at(p))) return null;
            while (isAsciiDigit(at(p))) {
              const n = at(p) - 48;
              if (ipv4Piece === null) ipv4Piece = n;
              else if (ipv4Piece === 0) return null;
              else ipv4Piece = ipv4Piece * 10 + n;
              if (ipv4Piece > 255) return null;
              p++;
            }
            address[pieceIndex] = address[pieceIndex] * 256 + ipv4Piece;
            numbersSeen++;
            if (numbersSeen === 2 || numbersSeen === 4) pieceIndex++;
          }
          if (numbersSeen !== 4) return null;
          break;
        } else if (at(p) === 58) {
          p++;
          if (p >= length) return null;
        } else if (p < length) {
          return null;
        }
        address[pieceIndex] = value;
        pieceIndex++;
      }
      if (compress !== null) {
        let swaps = pieceIndex - compress;
        pieceIndex = 7;
        while (pieceIndex !== 0 && swaps > 0) {
          const tmp = address[compress + swaps - 1];
          address[compress + swaps - 1] = address[pieceIndex];
          address[pieceIndex] = tmp;
          pieceIndex--;
          swaps--;
        }
      } else if (pieceIndex !== 8) {
        return null;
      }
      // Serialize, compressing the first longest run of zeros (length > 1).
      let bestStart = -1;
      let bestLength = 1;
      for (let i = 0; i < 8;) {
        if (address[i] !== 0) { i++; continue; }
        let j = i;
        while (j < 8 && address[j] === 0) j++;
        if (j - i > bestLength) { bestStart = i; bestLength = j - i; }
        i = j;
      }
      let out = '';
      let ignore0 = false;
      for (let i = 0; i < 8; i++) {
        if (ignore0 && address[i] === 0) continue;
        ignore0 = false;
        if (bestStart === i) {
          out += i === 0 ? '::' : ':';
          ignore0 = true;
          continue;
        }
        out += NumberPrototypeToString(address[i], 16);
        if (i !== 7) out += ':';
      }
      return '[' + out + ']';
    }
    function parseHost(input, special) {
      if (input[0] === '[') {
        if (input[input.length - 1] !== ']') return null;
        return parseIPv6(StringPrototypeSlice(input, 1, -1));
      }
      if (!special) {
        for (let i = 0; i < input.length; i++) if (isForbiddenHostCodePoint(StringPrototypeCharCodeAt(input, i))) return null;
        return percentEncode(input, inC0);
      }
      const domain = percentDecode(input, false);
      const ascii = domainToASCII(domain);
      if (ascii === '') return null;
      for (let i = 0; i < ascii.length; i++) if (isForbiddenDomainCodePoint(StringPrototypeCharCodeAt(ascii, i))) return null;
      if (endsInANumber(ascii)) return parseIPv4(ascii);
      return ascii;
    }

    function newURLRecord(scheme) {
      return { __proto__: null, scheme, username: '', password: '', host: null, port: null, path: list(), opaque: false, query: null, fragment: null };
    }
    function copyPath(path) { const copy = list(); for (let i = 0; i < path.length; i++) push(copy, path[i]); return copy; }
    function isSlash(c, special) { return c === '/' || (special && c === '\\'); }
    function isWindowsDriveLetter(s, normalizedOnly) {
      return s.length === 2 && isAsciiAlpha(StringPrototypeCharCodeAt(s, 0)) && (s[1] === ':' || (!normalizedOnly && s[1] === '|'));
    }
    function shortenPath(url) {
      if (url.scheme === 'file' && url.path.length === 1 && isWindowsDriveLetter(url.path[0], true)) return;
      if (url.path.length > 0) url.path.length -= 1;
    }
    function isSingleDot(s) { return s === '.' || StringPrototypeToLowerCase(s) === '%2e'; }
    function isDoubleDot(s) {
      s = StringPrototypeToLowerCase(s);
      return s === '..' || s === '.%2e' || s === '%2e.' || s === '%2e%2e';
    }
    // Appends the segments of `text` (a path without its leading slash) to url.path.
    function parsePathSegments(url, text) {
      const special = isSpecialScheme(url.scheme);
      let start = 0;
      for (let i = 0; i <= text.length; i++) {
        if (i < text.length && !isSlash(text[i], special)) continue;
        const segment = StringPrototypeSlice(text, start, i);
        const last = i === text.length;
        if (isDoubleDot(segment)) {
          shortenPath(url);
          if (last) push(url.path, '');
        } else if (isSingleDot(segment)) {
          if (last) push(url.path, '');
        } else {
          let encoded = percentEncode(segment, inPathSet);
          if (url.scheme === 'file' && url.path.length === 0 && isWindowsDriveLetter(encoded, false)) encoded = encoded[0] + ':';
          push(url.path, encoded);
        }
        start = i + 1;
      }
    }
    // Splits "path?query#fragment" and stores query and fragment; returns the path part.
    function splitQueryAndFragment(url, rest) {
      const hash = StringPrototypeIndexOf(rest, '#');
      if (hash !== -1) {
        url.fragment = percentEncode(StringPrototypeSlice(rest, hash + 1), inFragmentSet);
        rest = StringPrototypeSlice(rest, 0, hash);
      }
      const question = StringPrototypeIndexOf(rest, '?');
      if (question !== -1) {
        url.query = percentEncode(StringPrototypeSlice(rest, question + 1), isSpecialScheme(url.scheme) ? inSpecialQuerySet : inQuerySet);
        rest = StringPrototypeSlice(rest, 0, question);
      }
      return rest;
    }
    function parseAuthority(url, rest) {
      const special = isSpecialScheme(url.scheme);
      let end = 0;
      while (end < rest.length) {
        const c = rest[end];
        if (c === '/' || c === '?' || c === '#' || (special && c === '\\')) break;
        end++;
      }
      let authority = StringPrototypeSlice(rest, 0, end);
      const remainder = StringPrototypeSlice(rest, end);
      const at = StringPrototypeLastIndexOf(authority, '@');
      if (at !== -1) {
        const userinfo = StringPrototypeSlice(authority, 0, at);
        authority = StringPrototypeSlice(authority, at + 1);
        const colon = StringPrototypeIndexOf(userinfo, ':');
        url.username = percentEncode(colon === -1 ? userinfo : StringPrototypeSlice(userinfo, 0, colon), inUserinfoSet);
        url.password = colon === -1 ? '' : percentEncode(StringPrototypeSlice(userinfo, colon + 1), inUserinfoSet);
        if (authority === '') return null;
      }
      if (!setHostAndPort(url, authority, true)) return null;
      return remainder;
    }
    function setHostAndPort(url, authority, allowPort) {
      const special = isSpecialScheme(url.scheme);
      let hostText = authority;
      let portText = null;
      let inBrackets = false;
      for (let i = 0; i < authority.length; i++) {
        const c = authority[i];
        if (c === '[') inBrackets = true;
        else if (c === ']') inBrackets = false;
        else if (c === ':' && !inBrackets) {
          hostText = StringPrototypeSlice(authority, 0, i);
          portText = StringPrototypeSlice(authority, i + 1);
          break;
        }
      }
      if (hostText === '') {
        if (special || portText !== null || url.username !== '' || url.password !== '') return false;
        url.host = '';
        return true;
      }
      const host = parseHost(hostText, special);
      if (host === null) return false;
      let port = null;
      if (portText !== null && portText !== '') {
        if (!allowPort) return false;
        for (let i = 0; i < portText.length; i++) if (!isAsciiDigit(StringPrototypeCharCodeAt(portText, i))) return false;
        port = NumberCtor(portText);
        if (port > 65535) return false;
        if (specialSchemes[url.scheme] === port) port = null;
      }
      url.host = host;
      url.port = port;
      return true;
    }
    function parseAfterHost(url, rest) {
      const special = isSpecialScheme(url.scheme);
      rest = splitQueryAndFragment(url, rest);
      if (rest === '') {
        if (special) push(url.path, '');
        return url;
      }
      parsePathSegments(url, isSlash(rest[0], special) ? StringPrototypeSlice(rest, 1) : rest);
      return url;
    }
    function parseFile(url, rest, base) {
      url.host = '';
      if (rest.length >= 2 && isSlash(rest[0], true) && isSlash(rest[1], true)) {
        rest = StringPrototypeSlice(rest, 2);
        let end = 0;
        while (end < rest.length && rest[end] !== '/' && rest[end] !== '\\' && rest[end] !== '?' && rest[end] !== '#') end++;
        const hostText = StringPrototypeSlice(rest, 0, end);
        if (isWindowsDriveLetter(hostText, false)) {
          // "file://C:/x": the drive letter is the first path segment.
          return parseAfterHost(url, '/' + rest);
        }
        if (hostText !== '') {
          const host = parseHost(hostText, true);
          if (host === null) return null;
          url.host = host === 'localhost' ? '' : host;
        }
        return parseAfterHost(url, StringPrototypeSlice(rest, end));
      }
      if (rest.length >= 1 && isSlash(rest[0], true)) {
        if (base !== null && base.scheme === 'file') {
          url.host = base.host;
          const first = base.path.length > 0 ? base.path[0] : '';
          const restText = StringPrototypeSlice(rest, 1);
          if (isWindowsDriveLetter(first, true) && !isWindowsDriveLetter(StringPrototypeSlice(restText, 0, 2), false)) push(url.path, first);
        }
        return parseAfterHost(url, rest);
      }
      if (base !== null && base.scheme === 'file') {
        url.host = base.host;
        if (rest === '' || rest[0] === '?' || rest[0] === '#') {
          url.path = copyPath(base.path);
          url.query = base.query;
          if (rest === '') return url;
          if (rest[0] === '#') { url.fragment = percentEncode(StringPrototypeSlice(rest, 1), inFragmentSet); return url; }
          url.query = null;
          splitQueryAndFragment(url, rest);
          return url;
        }
        url.path = copyPath(base.path);
        if (!isWindowsDriveLetter(StringPrototypeSlice(rest, 0, 2), false)) shortenPath(url);
        else url.path = list();
      }
      rest = splitQueryAndFragment(url, rest);
      parsePathSegments(url, rest);
      return url;
    }
    function parseRelative(url, rest, base) {
      const special = isSpecialScheme(url.scheme);
      if (rest.length > 0 && isSlash(rest[0], special)) {
        if (rest.length > 1 && isSlash(rest[1], special)) {
          let start = 2;
          if (special) while (start < rest.length && isSlash(rest[start], true)) start++;
          const after = parseAuthority(url, StringPrototypeSlice(rest, start));
          return after === null ? null : parseAfterHost(url, after);
        }
        url.username = base.username; url.password = base.password; url.host = base.host; url.port = base.port;
        return parseAfterHost(url, rest);
      }
      url.username = base.username; url.password = base.password; url.host = base.host; url.port = base.port;
      url.path = copyPath(base.path);
      if (rest === '') { url.query = base.query; return url; }
      if (rest[0] === '?') { splitQueryAndFragment(url, rest); return url; }
      if (rest[0] === '#') { url.query = base.query; url.fragment = percentEncode(StringPrototypeSlice(rest, 1), inFragmentSet); return url; }
      shortenPath(url);
      rest = splitQueryAndFragment(url, rest);
      parsePathSegments(url, rest);
      return url;
    }
    function parseURL(input, base) {
      // Strip leading/trailing C0 controls and spaces; remove tabs and newlines.
      let start = 0;
      let end = input.length;
      while (start < end && StringPrototypeCharCodeAt(input, start) <= 0x20) start++;
      while (end > start && StringPrototypeCharCodeAt(input, end - 1) <= 0x20) end--;
      let text = '';
      for (let i = start; i < end; i++) {
        const c = StringPrototypeCharCodeAt(input, i);
        if (c !== 9 && c !== 10 && c !== 13) text += input[i];
      }
      let schemeEnd = -1;
      if (text.length > 0 && isAsciiAlpha(StringPrototypeCharCodeAt(text, 0))) {
        for (let i = 1; i < text.length; i++) {
          const c = StringPrototypeCharCodeAt(text, i);
          if (c === 58) { schemeEnd = i; break; }
          if (!(isAsciiAlpha(c) || isAsciiDigit(c) || c === 43 || c === 45 || c === 46)) break;
        }
      }
      if (schemeEnd !== -1) {
        const url = newURLRecord(StringPrototypeToLowerCase(StringPrototypeSlice(text, 0, schemeEnd)));
        let rest = StringPrototypeSlice(text, schemeEnd + 1);
        if (url.scheme === 'file') return parseFile(url, rest, base !== null && base.scheme === 'file' ? base : null);
        if (isSpecialScheme(url.scheme)) {
          if (base !== null && base.scheme === url.scheme && !StringPrototypeStartsWith(rest, '//')) {
            return parseRelative(url, rest, base);
          }
          let s = 0;
          while (s < rest.length && isSlash(rest[s], true)) s++;
          const after = parseAuthority(url, StringPrototypeSlice(rest, s));
          return after === null ? null : parseAfterHost(url, after);
        }
        if (StringPrototypeStartsWith(rest, '//')) {
          const after = parseAuthority(url, StringPrototypeSlice(rest, 2));
          return after === null ? null : parseAfterHost(url, after);
        }
        if (rest[0] === '/') return parseAfterHost(url, rest);
        // Opaque path.
        url.opaque = true;
        rest = splitQueryAndFragment(url, rest);
        url.path = percentEncode(rest, inC0);
        return url;
      }
      if (base === null) return null;
      if (base.opaque) {
        if (text[0] !== '#') return null;
        const url = newURLRecord(base.scheme);
        url.opaque = true;
        url.path = base.path;
        url.query = base.query;
        url.fragment = percentEncode(StringPrototypeSlice(text, 1), inFragmentSet);
        return url;
      }
      const url = newURLRecord(base.scheme);
      if (base.scheme === 'file') return parseFile(url, text, base);
      return parseRelative(url, text, base);
    }
    function serializePath(url) {
      if (url.opaque) return url.path;
      let out = '';
      for (let i = 0; i < url.path.length; i++) out += '/' + url.path[i];
      return out;
    }
    function serializeURL(url, excludeFragment) {
      let out = url.scheme + ':';
      if (url.host !== null) {
        out += '//';
        if (url.username !== '' || url.password !== '') {
          out += url.username;
          if (url.password !== '') out += ':' + url.password;
          out += '@';
        }
        out += url.host;
        if (url.port !== null) out += ':' + url.port;
      } else if (!url.opaque && url.path.length > 1 && url.path[0] === '') {
        out += '/.';
      }
      out += serializePath(url);
      if (url.query !== null) out += '?' + url.query;
      if (!excludeFragment && url.fragment !== null) out += '#' + url.fragment;
      return out;
    }
    function serializeOrigin(url) {
      if (url.scheme === 'blob') {
        const inner = parseURL(serializePath(url), null);
        if (inner !== null && (inner.scheme === 'http' || inner.scheme === 'https')) return serializeOrigin(inner);
        return 'null';
      }
      if (isSpecialScheme(url.scheme) && url.scheme !== 'file') {
        return url.scheme + '://' + url.host + (url.port !== null ? ':' + url.port : '');
      }
      return 'null';
    }

    // application/x-www-form-urlencoded
    function parseFormURLEncoded(text) {
      const result = list();
      const sequences = splitOn(text, '&');
      for (let i = 0; i < sequences.length; i++) {
        const sequence = sequences[i];
        if (sequence === '') continue;
        const eq = StringPrototypeIndexOf(sequence, '=');
        const name = eq === -1 ? sequence : StringPrototypeSlice(sequence, 0, eq);
        const value = eq === -1 ? '' : StringPrototypeSlice(sequence, eq + 1);
        push(result, [percentDecode(name, true), percentDecode(value, true)]);
      }
      return result;
    }
    function formEncode(str) {
      let out = '';
      const bytes = nativeUtf8Encode(str);
      const length = TypedArrayPrototypeGetLength(bytes);
      for (let i = 0; i < length; i++) {
        const b = bytes[i];
        if (b === 0x20) out += '+';
        else if (b === 0x2a || b === 0x2d || b === 0x2e || b === 0x5f || isAsciiDigit(b) || isAsciiAlpha(b)) out += StringFromCharCode(b);
        else out += percentByte(b);
      }
      return out;
    }
    function serializeForm(entries) {
      let out = '';
      for (let i = 0; i < entries.length; i++) {
        if (i !== 0) out += '&';
        out += formEncode(entries[i][0]) + '=' + formEncode(entries[i][1]);
      }
      return out;
    }

    function invalidURL(input) {
      const error = new TypeErrorCtor('Invalid URL');
      define(error, 'code', 'ERR_INVALID_URL');
      define(error, 'input', input);
      return error;
    }
    let urlRecordOf;
    let urlSearchParamsOf;
    let newLinkedSearchParams;
    let setSearchParamsList;

    class URLSearchParams {
      #list = list();
      #url = null;
      constructor(init = undefined) {
        if (init === undefined || init === null) return;
        if (typeof init === 'object' || typeof init === 'function') {
          if (isURLSearchParamsObject(init)) {
            const other = init.#list;
            for (let i = 0; i < other.length; i++) push(this.#list, [other[i][0], other[i][1]]);
            return;
          }
          const iteratorMethod = init[Symbol.iterator];
          if (iteratorMethod !== undefined && iteratorMethod !== null) {
            if (typeof iteratorMethod !== 'function') throw new TypeErrorCtor('Query pairs must be iterable');
            const iterator = ReflectApply(iteratorMethod, init, []);
            const next = iterator.next;
            for (;;) {
              const step = ReflectApply(next, iterator, []);
              if (step.done) break;
              const pair = step.value;
              if ((typeof pair !== 'object' && typeof pair !== 'function') || pair === null) throw new TypeErrorCtor('Each query pair must be an iterable [name, value] tuple');
              const items = list();
              const pairIteratorMethod = pair[Symbol.iterator];
              if (typeof pairIteratorMethod !== 'function') throw new TypeErrorCtor('Each query pair must be an iterable [name, value] tuple');
              const pairIterator = ReflectApply(pairIteratorMethod, pair, []);
              const pairNext = pairIterator.next;
              for (;;) {
                const item = ReflectApply(pairNext, pairIterator, []);
                if (item.done) break;
                push(items, toUSVString(item.value));
              }
              if (items.length !== 2) throw new TypeErrorCtor('Each query pair must be an iterable [name, value] tuple');
              push(this.#list, [items[0], items[1]]);
            }
            return;
          }
          const keys = ReflectOwnKeys(init);
          for (let i = 0; i < keys.length; i++) {
            const key = keys[i];
            if (typeof key !== 'string') continue;
            const desc = ObjectGetOwnPropertyDescriptor(init, key);
            if (desc === undefined || !desc.enumerable) continue;
            push(this.#list, [key, toUSVString(init[key])]);
          }
          return;
        }
        let text = toUSVString(init);
        if (text[0] === '?') text = StringPrototypeSlice(text, 1);
        this.#list = parseFormURLEncoded(text);
      }
      #update() {
        if (this.#url === null) return;
        const record = urlRecordOf(this.#url);
        const serialized = serializeForm(this.#list);
        record.query = serialized === '' ? null : serialized;
      }
      get size() { return this.#list.length; }
      append(name, value) {
        if (arguments.length < 2) throw new TypeErrorCtor('The "name" and "value" arguments must be specified');
        push(this.#list, [toUSVString(name), toUSVString(value)]);
        this.#update();
      }
      delete(name, value = undefined) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        if (value !== undefined) value = toUSVString(value);
        const kept = list();
        for (let i = 0; i < this.#list.length; i++) {
          const entry = this.#list[i];
          if (entry[0] === name && (value === undefined || entry[1] === value)) continue;
          push(kept, entry);
        }
        this.#list = kept;
        this.#update();
      }
      get(name) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        for (let i = 0; i < this.#list.length; i++) if (this.#list[i][0] === name) return this.#list[i][1];
        return null;
      }
      getAll(name) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        const values = [];
        for (let i = 0; i < this.#list.length; i++) if (this.#list[i][0] === name) ObjectDefineProperty(values, values.length, { __proto__: null, value: this.#list[i][1], writable: true, enumerable: true, configurable: true });
        return values;
      }
      has(name, value = undefined) {
        if (arguments.length < 1) throw new TypeErrorCtor('The "name" argument must be specified');
        name = toUSVString(name);
        if (value !== undefined) value = toUSVString(value);
        for (let i = 0; i < this.#list.length; i++) {
          if (this.#list[i][0] === name && (value === undefined || this.#list[i][1] === value)) return true;
        }
        return false;
      }
      set(name, value) {
        if (arguments.length < 2) throw new TypeErrorCtor('The "name" and "value" arguments must be specified');
        name = toUSVString(name);
        value = toUSVString(value);
        const kept = list();
        let found = false;
        for (let i = 0; i < this.#list.length; i++) {
          const entry = this.#list[i];
          if (entry[0] === name) {
            if (found) continue;
            found = true;
            push(kept, [name, value]);
          } else {
            push(kept, entry);
          }
        }
        if (!found) push(kept, [name, value]);
        this.#list = kept;
        this.#update();
      }
      sort() {
        // Stable insertion sort by code units of the names.
        const entries = this.#list;
        for (let i = 1; i < entries.length; i++) {
          const entry = entries[i];
          let j = i;
          while (j > 0 && entries[j - 1][0] > entry[0]) { entries[j] = entries[j - 1]; j--; }
          entries[j] = entry;
        }
        this.#update();
      }
      forEach(callback, thisArg = undefined) {
        if (typeof callback !== 'function') throw new TypeErrorCtor('The "callback" argument must be of type function');
        for (let i = 0; i < this.#list.length; i++) {
          const entry = this.#list[i];
          ReflectApply(callback, thisArg, [entry[1], entry[0], this]);
        }
      }
      keys() { return makeParamsIterator(this.#list, 0); }
      values() { return makeParamsIterator(this.#list, 1); }
      entries() { return makeParamsIterator(this.#list, 2); }
      toString() { return serializeForm(this.#list); }
      static {
        isURLSearchParamsObject = (value) => { try { return #list in value; } catch { return false; } };
        searchParamsEntries = (params) => params.#list;
        newLinkedSearchParams = (url, query) => {
          const params = new URLSearchParams();
          params.#list = query === null ? list() : parseFormURLEncoded(query);
          params.#url = url;
          return params;
        };
        setSearchParamsList = (params, query) => { params.#list = query === null ? list() : parseFormURLEncoded(query); };
      }
    }
    // Iterators read the live list by position, like the spec's "value pairs to iterate".
    const ParamsIteratorPrototype = ObjectSetPrototypeOf({}, ObjectGetPrototypeOf(ObjectGetPrototypeOf([][SymbolIterator]())));
    const paramsIteratorState = new WeakMapCtor();
    function makeParamsIterator(entries, kind) {
      const iterator = ObjectSetPrototypeOf({}, ParamsIteratorPrototype);
      WeakMapPrototypeSet(paramsIteratorState, iterator, { __proto__: null, entries, kind, index: 0 });
      return iterator;
    }
    define(ParamsIteratorPrototype, 'next', function next() {
      const state = WeakMapPrototypeGet(paramsIteratorState, this);
      if (state === undefined) throw new TypeErrorCtor('Value of "this" must be of type URLSearchParamsIterator');
      if (state.index >= state.entries.length) return { value: undefined, done: true };
      const entry = state.entries[state.index++];
      const value = state.kind === 0 ? entry[0] : state.kind === 1 ? entry[1] : [entry[0], entry[1]];
      return { value, done: false };
    });
    ObjectDefineProperty(ParamsIteratorPrototype, SymbolToStringTag, { __proto__: null, value: 'URLSearchParams Iterator', configurable: true });
    define(URLSearchParams.prototype, SymbolIterator, URLSearchParams.prototype.entries);
    ObjectDefineProperty(URLSearchParams.prototype, SymbolToStringTag, { __proto__: null, value: 'URLSearchParams', configurable: true });

    class URL {
      #url;
      #searchParams = null;
      constructor(url, base = undefined) {
        if (arguments.length === 0) throw new TypeErrorCtor('The "url" argument must be specified');
        const input = toUSVString(url);
        let baseRecord = null;
        if (base !== undefined) {
          baseRecord = parseURL(toUSVString(base), null);
          if (baseRecord === null) throw invalidURL(input);
        }
        const record = parseURL(input, baseRecord);
        if (record === null) throw invalidURL(input);
        this.#url = record;
      }
      static canParse(url, base = undefined) {
        try {
          let baseRecord = null;
          if (base !== undefined) {
            baseRecord = parseURL(toUSVString(base), null);
            if (baseRecord === null) return false;
          }
          return parseURL(toUSVString(url), baseRecord) !== null;
        } catch {
          return false;
        }
      }
      get href() { return serializeURL(this.#url, false); }
      set href(value) {
        const input = toUSVString(value);
        const record = parseURL(input, null);
        if (record === null) throw invalidURL(input);
        this.#url = record;
        if (this.#searchParams !== null) setSearchParamsList(this.#searchParams, record.query);
      }
      get origin() { return serializeOrigin(this.#url); }
      get protocol() { return this.#url.scheme + ':'; }
      set protocol(value) {
        let text = toUSVString(value);
        const colon = StringPrototypeIndexOf(text, ':');
        if (colon !== -1) text = StringPrototypeSlice(text, 0, colon);
        if (text === '' || !isAsciiAlpha(StringPrototypeCharCodeAt(text, 0))) return;
        for (let i = 1; i < text.length; i++) {
          const c = StringPrototypeCharCodeAt(text, i);
          if (!(isAsciiAlpha(c) || isAsciiDigit(c) || c === 43 || c === 45 || c === 46)) return;
        }
        const scheme = StringPrototypeToLowerCase(text);
        const url = this.#url;
        if (isSpecialScheme(url.scheme) !== isSpecialScheme(scheme)) return;
        if ((url.username !== '' || url.password !== '' || url.port !== null) && scheme === 'file') return;
        if (url.scheme === 'file' && url.host === '') return;
        url.scheme = scheme;
        if (url.port !== null && specialSchemes[scheme] === url.port) url.port = null;
      }
      get username() { return this.#url.username; }
      set username(value) {
        const url = this.#url;
        if (url.host === null || url.host === '' || url.scheme === 'file') return;
        url.username = percentEncode(toUSVString(value), inUserinfoSet);
      }
      get password() { return this.#url.password; }
      set password(value) {
        const url = this.#url;
        if (url.host === null || url.host === '' || url.scheme === 'file') return;
        url.password = percentEncode(toUSVString(value), inUserinfoSet);
      }
      get host() {
        const url = this.#url;
        if (url.host === null) return '';
        return url.port === null ? url.host : url.host + ':' + url.port;
      }
      set host(value) { this.#setHost(toUSVString(value), true); }
      get hostname() { return this.#url.host === null ? '' : this.#url.host; }
      set hostname(value) { this.#setHost(toUSVString(value), false); }
      #setHost(text, withPort) {
        const url = this.#url;
        if (url.opaque) return;
        const special = isSpecialScheme(url.scheme);
        let end = 0;
        while (end < text.length && text[end] !== '/' && text[end] !== '?' && text[end] !== '#' && !(special && text[end] === '\\')) end++;
        text = StringPrototypeSlice(text, 0, end);
        if (!withPort) {
          let inBrackets = false;
          for (let i = 0; i < text.length; i++) {
            if (text[i] === '[') inBrackets = true;
            else if (text[i] === ']') inBrackets = false;
            else if (text[i] === ':' && !inBrackets) return;
          }
        }
        if (text === '' && special) return;
        const copy = newURLRecord(url.scheme);
        copy.port = url.port;
        let hostText = text;
        let portText = null;
        let inBrackets = false;
        for (let i = 0; i < text.length; i++) {
          if (text[i] === '[') inBrackets = true;
          else if (text[i] === ']') inBrackets = false;
          else if (text[i] === ':' && !inBrackets) { hostText = StringPrototypeSlice(text, 0, i); portText = StringPrototypeSlice(text, i + 1); break; }
        }
        if (hostText === '' && special) return;
        if (hostText === '') { url.host = ''; return; }
        const host = parseHost(hostText, special);
        if (host === null) return;
        url.host = url.scheme === 'file' && host === 'localhost' ? '' : host;
        if (portText !== null && portText !== '') this.port = portText;
      }
      get port() { return this.#url.port === null ? '' : '' + this.#url.port; }
      set port(value) {
        const url = this.#url;
        if (url.host === null || url.host === '' || url.scheme === 'file') return;
        const text = toUSVString(value);
        if (text === '') { url.port = null; return; }
        let digits = 0;
        while (digits < text.length && isAsciiDigit(StringPrototypeCharCodeAt(text, digits))) digits++;
        if (digits === 0) return;
        const port = NumberCtor(StringPrototypeSlice(text, 0, digits));
        if (port > 65535) return;
        url.port = specialSchemes[url.scheme] === port ? null : port;
      }
      get pathname() { return serializePath(this.#url); }
      set pathname(value) {
        const url = this.#url;
        if (url.opaque) return;
        let text = toUSVString(value);
        let cleaned = '';
        for (let i = 0; i < text.length; i++) {
          const c = StringPrototypeCharCodeAt(text, i);
          if (c !== 9 && c !== 10 && c !== 13) cleaned += text[i];
        }
        text = cleaned;
        url.path = list();
        const special = isSpecialScheme(url.scheme);
        if (text === '') { if (special) push(url.path, ''); return; }
        // '?' and '#' are part of the path here.
        let escaped = '';
        for (let i = 0; i < text.length; i++) escaped += text[i] === '?' ? '%3F' : text[i] === '#' ? '%23' : text[i];
        parsePathSegments(url, isSlash(escaped[0], special) ? StringPrototypeSlice(escaped, 1) : escaped);
      }
      get search() {
        const query = this.#url.query;
        return query === null || query === '' ? '' : '?' + query;
      }
      set search(value) {
        const url = this.#url;
        let text = toUSVString(value);
        if (text === '') {
          url.query = null;
        } else {
          if (text[0] === '?') text = StringPrototypeSlice(text, 1);
          url.query = percentEncode(text, isSpecialScheme(url.scheme) ? inSpecialQuerySet : inQuerySet);
        }
        if (this.#searchParams !== null) setSearchParamsList(this.#searchParams, url.query);
      }
      get searchParams() {
        if (this.#searchParams === null) this.#searchParams = newLinkedSearchParams(this, this.#url.query);
        return this.#searchParams;
      }
      get hash() {
        const fragment = this.#url.fragment;
        return fragment === null || fragment === '' ? '' : '#' + fragment;
      }
      set hash(value) {
        let text = toUSVString(value);
        if (text === '') { this.#url.fragment = null; return; }
        if (text[0] === '#') text = StringPrototypeSlice(text, 1);
        this.#url.fragment = percentEncode(text, inFragmentSet);
      }
      toString() { return serializeURL(this.#url, false); }
      toJSON() { return serializeURL(this.#url, false); }
      static {
        urlRecordOf = (url) => url.#url;
        isURLObject = (value) => { try { return #url in value; } catch { return false; } };
      }
    }
    {
      const names = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'searchParams', 'hash'];
      for (let i = 0; i < names.length; i++) {
        const desc = ObjectGetOwnPropertyDescriptor(URL.prototype, names[i]);
        desc.enumerable = true;
        ObjectDefineProperty(URL.prototype, names[i], desc);
      }
      const methods = ['toString', 'toJSON'];
      for (let i = 0; i < methods.length; i++) {
        const desc = ObjectGetOwnPropertyDescriptor(URL.prototype, methods[i]);
        desc.enumerable = true;
        ObjectDefineProperty(URL.prototype, methods[i], desc);
      }
      ObjectDefineProperty(URL.prototype, SymbolToStringTag, { __proto__: null, value: 'URL', configurable: true });
    }
    urlInspectEntries = function (value) {
      const record = urlRecordOf(value);
      const entries = list();
      const getters = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'searchParams', 'hash'];
      for (let i = 0; i < getters.length; i++) {
        const desc = ObjectGetOwnPropertyDescriptor(URL.prototype, getters[i]);
        // URL.prototype may have been patched by a guest: fall back to the record.
        const v = getters[i] === 'searchParams' ? ReflectApply(urlSearchParamsGetter, value, []) : ReflectApply(urlGetters[getters[i]], value, []);
        void desc; void record;
        push(entries, [getters[i], v]);
      }
      return entries;
    };
    const urlGetters = { __proto__: null };
    {
      const names = ['href', 'origin', 'protocol', 'username', 'password', 'host', 'hostname', 'port', 'pathname', 'search', 'hash'];
      for (let i = 0; i < names.length; i++) urlGetters[names[i]] = ObjectGetOwnPropertyDescriptor(URL.prototype, names[i]).get;
    }
    const urlSearchParamsGetter = ObjectGetOwnPropertyDescriptor(URL.prototype, 'searchParams').get;
    return { __proto__: null, URL, URLSearchParams };
  }
  installWhenUsed(['URL', 'URLSearchParams'], installURL);

