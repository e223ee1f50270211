// Checks, in the browser and without trusting the server, that every
// verification listed on /mis-accesos is in the public transparency log:
//   1. the leaf hash SHA-256(0x00 || entry) is recomputed;
//   2. the RFC 9162 inclusion proof is walked up to the checkpoint's root;
//   3. the checkpoint (a C2SP signed note) is verified with Ed25519 (WebCrypto)
//      against the log's verifier key, and its origin must be the key's name;
//   4. the entry's subject commitment must be SHA-256(person id || salt).
// Each row is then marked verified, pending, or failed (with the reason).
"use strict";

(function () {
  const list = document.getElementById("accesos");
  if (!list) return;
  const summary = document.getElementById("resumen");
  const messages = {
    ok: list.dataset.msgVerificado,
    pending: list.dataset.msgPendiente,
    failed: list.dataset.msgFallo,
    summary: list.dataset.msgResumen,
    unsupported: list.dataset.msgSinSoporte,
  };
  const encoder = new TextEncoder();

  function fromBase64(text) {
    const binary = atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes;
  }

  function fromHex(text) {
    if (!/^([0-9a-f]{2})*$/.test(text)) throw new Error("hexadecimal inválido");
    const bytes = new Uint8Array(text.length / 2);
    for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(text.substr(i * 2, 2), 16);
    return bytes;
  }

  function toHex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let offset = 0;
    for (const part of parts) {
      out.set(part, offset);
      offset += part.length;
    }
    return out;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    let difference = 0;
    for (let i = 0; i < a.length; i++) difference |= a[i] ^ b[i];
    return difference === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // The log's verifier key: name+hexhash+base64(0x01 || 32-byte public key).
  async function parseVerifierKey(vkey) {
    // The name has no "+", the hash is 8 hex digits, and the base64 key may hold "+".
    const match = /^([^+\s]+)\+([0-9a-f]{8})\+([A-Za-z0-9+/]+={0,2})$/.exec(vkey);
    if (!match) throw new Error("llave del registro mal formada");
    const [, name, hashHex, keyBase64] = match;
    const keyBytes = fromBase64(keyBase64);
    if (keyBytes.length !== 33 || keyBytes[0] !== 0x01) throw new Error("la llave del registro no es Ed25519");
    const keyHash = fromHex(hashHex);
    const expected = (await sha256(concat(encoder.encode(name + "\n"), keyBytes))).slice(0, 4);
    if (!equal(keyHash, expected)) throw new Error("la huella de la llave del registro no coincide");
    const publicKey = await crypto.subtle.importKey("raw", keyBytes.slice(1), { name: "Ed25519" }, false, ["verify"]);
    return { name, keyHash, publicKey };
  }

  // A C2SP tlog-proof receipt: header, optional extra, index, proof, blank line, checkpoint note.
  function parseReceipt(text) {
    const lines = text.split("\n");
    let at = 0;
    if (lines[at++] !== "c2sp.org/tlog-proof@v1") throw new Error("recibo con encabezado desconocido");
    let extra = null;
    if (lines[at].startsWith("extra ")) extra = fromBase64(lines[at++].slice(6));
    const indexMatch = /^index (0|[1-9][0-9]*)$/.exec(lines[at++] || "");
    if (!indexMatch) throw new Error("recibo sin índice");
    const index = BigInt(indexMatch[1]);
    const proof = [];
    while (at < lines.length && lines[at] !== "") {
      const hash = fromBase64(lines[at++]);
      if (hash.length !== 32) throw new Error("prueba de inclusión mal formada");
      proof.push(hash);
    }
    if (at >= lines.length) throw new Error("recibo sin punto de control");
    const checkpoint = lines.slice(at + 1).join("\n");
    return { extra, index, proof, checkpoint };
  }

  // A signed note: text (ending in a newline), a blank line, signature lines.
  async function verifyCheckpoint(note, key) {
    const split = note.lastIndexOf("\n\n");
    if (split < 0) throw new Error("punto de control sin firmas");
    const text = note.slice(0, split + 1);
    const signatures = note.slice(split + 2).split("\n").filter((line) => line !== "");
    let verified = false;
    for (const line of signatures) {
      const match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match || match[1] !== key.name) continue;
      const signature = fromBase64(match[2]);
      if (signature.length !== 68 || !equal(signature.slice(0, 4), key.keyHash)) continue;
      verified = await crypto.subtle.verify({ name: "Ed25519" }, key.publicKey, signature.slice(4), encoder.encode(text));
      if (verified) break;
    }
    if (!verified) throw new Error("la firma del punto de control no es válida");
    const [origin, sizeText, rootBase64] = text.split("\n");
    if (origin !== key.name) throw new Error("el origen del punto de control no es el del registro");
    if (!/^(0|[1-9][0-9]*)$/.test(sizeText)) throw new Error("tamaño del árbol mal formado");
    const root = fromBase64(rootBase64);
    if (root.length !== 32) throw new Error("raíz del árbol mal formada");
    return { size: BigInt(sizeText), root };
  }

  // RFC 9162 §2.1.3.2: the root computed from a leaf and its inclusion proof.
  async function rootFromInclusionProof(index, size, leafHash, proof) {
    if (index >= size) throw new Error("el índice está fuera del árbol");
    let fn = index;
    let sn = size - 1n;
    let r = leafHash;
    const node = new Uint8Array([0x01]);
    for (const p of proof) {
      if (sn === 0n) throw new Error("la prueba de inclusión es demasiado larga");
      if ((fn & 1n) === 1n || fn === sn) {
        r = await sha256(concat(node, p, r));
        if ((fn & 1n) === 0n) {
          while ((fn & 1n) === 0n && fn !== 0n) {
            fn >>= 1n;
            sn >>= 1n;
          }
        }
      } else {
        r = await sha256(concat(node, r, p));
      }
      fn >>= 1n;
      sn >>= 1n;
    }
    if (sn !== 0n) throw new Error("la prueba de inclusión es demasiado corta");
    return r;
  }

  async function checkEntry(item, key, personId) {
    if (item.receipt === null || item.entry === null) return "pending";
    const entry = fromBase64(item.entry);
    const receipt = parseReceipt(item.receipt);
    if (receipt.extra !== null && !equal(receipt.extra, entry)) throw new Error("el recibo es de otra anotación");
    const checkpoint = await verifyCheckpoint(receipt.checkpoint, key);
    const leafHash = await sha256(concat(new Uint8Array([0x00]), entry));
    const root = await rootFromInclusionProof(receipt.index, checkpoint.size, leafHash, receipt.proof);
    if (!equal(root, checkpoint.root)) throw new Error("la prueba de inclusión no lleva a la raíz firmada");
    const decoded = JSON.parse(new TextDecoder().decode(entry));
    const commitment = toHex(await sha256(concat(personId, fromHex(item.subject_salt))));
    if (decoded.subject !== commitment) throw new Error("la anotación no se refiere a usted");
    if (decoded.time !== item.time_unix_ms) throw new Error("la fecha de la anotación no coincide");
    return "verified";
  }

  function mark(row, state, text) {
    const status = row.querySelector(".estado");
    if (!status) return;
    status.dataset.estado = state;
    status.className = "estado estado-" + state;
    status.textContent = text;
  }

  async function run() {
    const response = await fetch("/mis-accesos.json", { credentials: "same-origin", cache: "no-store" });
    if (!response.ok) throw new Error("HTTP " + response.status);
    const data = await response.json();
    let key;
    try {
      key = await parseVerifierKey(data.log.verifier_key);
    } catch (error) {
      if (error && error.name === "NotSupportedError") throw new Error(messages.unsupported);
      throw error;
    }
    const personId = fromHex(data.person_id);
    let verified = 0;
    for (const item of data.entries) {
      const row = list.querySelector('li[data-id="' + CSS.escape(item.id) + '"]');
      if (!row) continue;
      try {
        const outcome = await checkEntry(item, key, personId);
        if (outcome === "verified") {
          verified++;
          mark(row, "verificado", "\u2714 " + messages.ok);
        } else {
          mark(row, "pendiente", "\u231B " + messages.pending);
        }
      } catch (error) {
        mark(row, "fallo", "\u2716 " + messages.failed + " " + (error && error.message ? error.message : error));
      }
    }
    if (summary) summary.textContent = messages.summary + " " + verified + " / " + data.entries.length;
  }

  run().catch((error) => {
    for (const row of list.querySelectorAll("li.acceso")) {
      mark(row, "fallo", "\u2716 " + messages.failed + " " + (error && error.message ? error.message : error));
    }
    if (summary) summary.textContent = messages.failed + " " + (error && error.message ? error.message : error);
  });
})();
