// Command go-tlog checks a running Certeza transparency log with an
// independent implementation: Go's golang.org/x/mod/sumdb/note and
// golang.org/x/mod/sumdb/tlog, written by the Go team and not by us.
//
// Certeza's own auditor (`certeza log audit`) shares its code with the log it
// audits, so a misreading of a specification would pass both. This program
// reads the log only over HTTP and leaves every signature, hash and proof
// check to x/mod; the only code here that is ours is the parsing of the text
// formats (C2SP tlog-checkpoint, tlog-tiles entry bundles, tlog-proof) and
// the mapping of Go's tile paths to C2SP tile paths.
//
// It checks that:
//
//   - the checkpoint at <log>/checkpoint opens with note.Open under the given
//     verifier key, and its body is a well-formed C2SP checkpoint;
//   - the tiles under <log>/tile/ authenticate against the checkpoint's root
//     through tlog.TileHashReader, and tlog.TreeHash over them gives the root;
//   - every entry in every entry bundle under <log>/tile/entries/ hashes, with
//     tlog.RecordHash, to the leaf hash in the level-0 tiles, and
//     tlog.ProveRecord and tlog.CheckRecord agree for a sample of entries;
//   - the entries alone give the checkpoint's root (tlog.StoredHashes and
//     tlog.TreeHash), and every served tile equals, byte for byte, the tile
//     tlog.ReadTileData builds from those recomputed hashes (this does not
//     rely on tlog.TileHashReader, which does not authenticate every tile it
//     returns: see checkAllTiles);
//   - the tlog-proof receipts at <server>/v1/log/proof/<index> carry a
//     checkpoint that note.Open accepts and an inclusion proof that
//     tlog.CheckRecord accepts for the entry's record hash;
//   - optionally, entries appended with POST <server>/v1/log/entries come
//     back with receipts that verify, and the grown tree is consistent with
//     the one seen before (tlog.ProveTree and tlog.CheckTree);
//   - tampered data is rejected: a checkpoint under another key, with a
//     flipped signature bit or with a changed size, tiles with a flipped bit,
//     a wrong root, an entry with a flipped bit, a receipt with a flipped
//     proof bit, and a receipt checked against another entry.
//
// It prints a short report and exits 0 when everything holds, and exits 1
// with a precise message at the first mismatch (2 for usage errors).
//
// Build it offline against Debian's golang-golang-x-mod-dev:
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o go-tlog .
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// tileHeight is the tile height C2SP tlog-tiles fixes: 8 Merkle levels, so a
// full tile holds 256 hashes.
const tileHeight = 8

// tileWidth is the number of hashes in a full tile and entries in a full
// entry bundle.
const tileWidth = 1 << tileHeight

// receiptHeader is the first line of a C2SP tlog-proof receipt.
const receiptHeader = "c2sp.org/tlog-proof@v1"

// maxBody bounds every response body the checker reads.
const maxBody = 16 << 20

// failure is a check that did not hold; main prints it and exits 1.
type failure struct{ msg string }

func (f *failure) Error() string { return f.msg }

// fail reports a mismatch.
func fail(format string, args ...interface{}) error {
	return &failure{fmt.Sprintf(format, args...)}
}

// checkpoint is a parsed C2SP tlog-checkpoint body.
type checkpoint struct {
	origin     string
	tree       tlog.Tree
	extensions []string
}

// parseCheckpoint parses a checkpoint body strictly: an origin line, a
// decimal tree size without leading zeros, a standard base64 root hash of 32
// bytes, then optional non-empty extension lines, every line ending in a
// newline.
func parseCheckpoint(text string) (checkpoint, error) {
	var c checkpoint
	if !strings.HasSuffix(text, "\n") {
		return c, errors.New("checkpoint body does not end with a newline")
	}
	lines := strings.Split(strings.TrimSuffix(text, "\n"), "\n")
	if len(lines) < 3 {
		return c, fmt.Errorf("checkpoint body has %d lines, want at least 3", len(lines))
	}
	c.origin = lines[0]
	if c.origin == "" {
		return c, errors.New("checkpoint origin line is empty")
	}
	size, err := parseDecimal(lines[1])
	if err != nil {
		return c, fmt.Errorf("checkpoint size line %q: %v", lines[1], err)
	}
	root, err := parseHash(lines[2])
	if err != nil {
		return c, fmt.Errorf("checkpoint root line %q: %v", lines[2], err)
	}
	for _, line := range lines[3:] {
		if line == "" {
			return c, errors.New("checkpoint has an empty extension line")
		}
	}
	c.tree = tlog.Tree{N: size, Hash: root}
	c.extensions = lines[3:]
	return c, nil
}

// parseDecimal parses a non-negative ASCII decimal with no leading zeros.
func parseDecimal(s string) (int64, error) {
	if s == "" || (len(s) > 1 && s[0] == '0') || strings.TrimLeft(s, "0123456789") != "" {
		return 0, errors.New("not a canonical decimal")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// parseHash decodes a standard, padded base64 SHA-256 hash and insists on
// the canonical encoding.
func parseHash(s string) (tlog.Hash, error) {
	var h tlog.Hash
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return h, err
	}
	if len(raw) != tlog.HashSize {
		return h, fmt.Errorf("decodes to %d bytes, want %d", len(raw), tlog.HashSize)
	}
	if base64.StdEncoding.EncodeToString(raw) != s {
		return h, errors.New("not canonical base64")
	}
	copy(h[:], raw)
	return h, nil
}

// openCheckpoint verifies a signed checkpoint note with x/mod's note.Open and
// parses its body.
func openCheckpoint(msg []byte, verifier note.Verifier) (checkpoint, *note.Note, error) {
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		return checkpoint{}, nil, err
	}
	c, err := parseCheckpoint(n.Text)
	if err != nil {
		return checkpoint{}, nil, err
	}
	return c, n, nil
}

// client fetches the log's resources over HTTP.
type client struct {
	http    *http.Client
	logBase string // e.g. http://127.0.0.1:8080/log
	server  string // e.g. http://127.0.0.1:8080

	mu        sync.Mutex
	fetches   int
	fallbacks int
}

// get fetches url and returns its body, failing on any status but 200.
func (c *client) get(u string) ([]byte, http.Header, int, error) {
	c.mu.Lock()
	c.fetches++
	c.mu.Unlock()
	resp, err := c.http.Get(u)
	if err != nil {
		return nil, nil, 0, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return nil, nil, resp.StatusCode, fmt.Errorf("reading %s: %v", u, err)
	}
	if len(body) > maxBody {
		return nil, nil, resp.StatusCode, fmt.Errorf("%s is larger than %d bytes", u, maxBody)
	}
	return body, resp.Header, resp.StatusCode, nil
}

// getOK fetches url, insists on 200 and on the given media type (when not
// empty), and returns the body.
func (c *client) getOK(u, contentType string) ([]byte, error) {
	body, header, status, err := c.get(u)
	if err != nil {
		return nil, err
	}
	if status != http.StatusOK {
		return nil, fail("GET %s: HTTP %d: %s", u, status, strings.TrimSpace(string(truncate(body, 200))))
	}
	if contentType != "" {
		if got := header.Get("Content-Type"); got != contentType {
			return nil, fail("GET %s: Content-Type %q, want %q", u, got, contentType)
		}
	}
	return body, nil
}

// truncate shortens b for error messages.
func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// c2spTilePath maps a Go tile to its C2SP tlog-tiles path. Go writes
// tile/<H>/<L>/<N>[.p/<W>] (golang.org/x/mod/sumdb/tlog, Tile.Path), with the
// tile height H as the first element; C2SP fixes H at 8 and omits it:
// tile/<L>/<N>[.p/<W>]. The N encoding (x-prefixed 3-digit groups) and the
// .p/<W> suffix for partial tiles are the same in both. Go's data tiles
// (L = -1, "data") correspond to C2SP entry bundles, tile/entries/<N>.
func c2spTilePath(t tlog.Tile) (string, error) {
	if t.H != tileHeight {
		return "", fmt.Errorf("tile height %d is not the C2SP height %d", t.H, tileHeight)
	}
	goPath := t.Path()
	prefix := fmt.Sprintf("tile/%d/", tileHeight)
	if !strings.HasPrefix(goPath, prefix) {
		return "", fmt.Errorf("unexpected Go tile path %q", goPath)
	}
	rest := strings.TrimPrefix(goPath, prefix)
	if strings.HasPrefix(rest, "data/") {
		return "tile/entries/" + strings.TrimPrefix(rest, "data/"), nil
	}
	return "tile/" + rest, nil
}

// fetchTile fetches a tile (or entry bundle) by its Go coordinates. A partial
// tile that is gone is replaced by the prefix of the full tile, as C2SP
// tlog-tiles allows once the full tile exists; for hash tiles the prefix is
// cut to W hashes here, for bundles the caller cuts it to W entries.
func (c *client) fetchTile(t tlog.Tile) ([]byte, error) {
	path, err := c2spTilePath(t)
	if err != nil {
		return nil, err
	}
	u := c.logBase + "/" + path
	body, header, status, err := c.get(u)
	if err != nil {
		return nil, err
	}
	if status == http.StatusNotFound && t.W < tileWidth {
		full := t
		full.W = tileWidth
		fullPath, _ := c2spTilePath(full)
		body, header, status, err = c.get(c.logBase + "/" + fullPath)
		if err != nil {
			return nil, err
		}
		if status == http.StatusOK {
			c.mu.Lock()
			c.fallbacks++
			c.mu.Unlock()
			if t.L >= 0 && len(body) == tileWidth*tlog.HashSize {
				body = body[:t.W*tlog.HashSize]
			}
		}
		u = c.logBase + "/" + fullPath
	}
	if status != http.StatusOK {
		return nil, fail("GET %s: HTTP %d", u, status)
	}
	if got := header.Get("Content-Type"); got != "application/octet-stream" {
		return nil, fail("GET %s: Content-Type %q, want %q", u, got, "application/octet-stream")
	}
	return body, nil
}

// tileReader is a tlog.TileReader over the log's C2SP tiles. It caches what
// it fetched; the cached bytes are never trusted, since tlog.TileHashReader
// authenticates them against the signed tree on every read.
type tileReader struct {
	c      *client
	mu     sync.Mutex
	cache  map[tlog.Tile][]byte
	tamper func(tlog.Tile, []byte) []byte
}

func newTileReader(c *client) *tileReader {
	return &tileReader{c: c, cache: make(map[tlog.Tile][]byte)}
}

// Height returns the C2SP tile height.
func (r *tileReader) Height() int { return tileHeight }

// ReadTiles fetches the tiles, concurrently and at most eight at a time.
func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	data := make([][]byte, len(tiles))
	errs := make([]error, len(tiles))
	limit := make(chan struct{}, 8)
	var wg sync.WaitGroup
	for i, t := range tiles {
		r.mu.Lock()
		cached, ok := r.cache[t]
		r.mu.Unlock()
		if ok {
			data[i] = cached
			continue
		}
		wg.Add(1)
		go func(i int, t tlog.Tile) {
			defer wg.Done()
			limit <- struct{}{}
			defer func() { <-limit }()
			body, err := r.c.fetchTile(t)
			if err != nil {
				errs[i] = err
				return
			}
			if len(body) != t.W*tlog.HashSize {
				path, _ := c2spTilePath(t)
				errs[i] = fail("tile %s has %d bytes, want %d (%d hashes)", path, len(body), t.W*tlog.HashSize, t.W)
				return
			}
			r.mu.Lock()
			r.cache[t] = body
			r.mu.Unlock()
			data[i] = body
		}(i, t)
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	if r.tamper != nil {
		for i, t := range tiles {
			data[i] = r.tamper(t, data[i])
		}
	}
	return data, nil
}

// SaveTiles is a no-op: nothing is persisted.
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {}

// parseBundle splits a C2SP entry bundle into its entries: each is a
// big-endian uint16 length followed by that many bytes, and the bundle must
// be consumed exactly.
func parseBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 {
			return nil, fmt.Errorf("truncated length prefix after %d entries", len(entries))
		}
		n := int(binary.BigEndian.Uint16(data))
		data = data[2:]
		if len(data) < n {
			return nil, fmt.Errorf("entry %d claims %d bytes, only %d remain", len(entries), n, len(data))
		}
		entries = append(entries, data[:n])
		data = data[n:]
	}
	return entries, nil
}

// fetchEntries fetches every entry bundle of the tree and returns all its
// entries, in order.
func (c *client) fetchEntries(n int64) ([][]byte, error) {
	var all [][]byte
	for start := int64(0); start < n; start += tileWidth {
		w := int(n - start)
		if w > tileWidth {
			w = tileWidth
		}
		t := tlog.Tile{H: tileHeight, L: -1, N: start / tileWidth, W: w}
		path, _ := c2spTilePath(t)
		body, err := c.fetchTile(t)
		if err != nil {
			return nil, err
		}
		entries, err := parseBundle(body)
		if err != nil {
			return nil, fail("entry bundle %s: %v", path, err)
		}
		if len(entries) < w || (len(entries) > w && t.W == tileWidth) {
			return nil, fail("entry bundle %s holds %d entries, want %d", path, len(entries), w)
		}
		if len(entries) > w {
			// Only the full-bundle fallback for a missing partial bundle
			// holds more than W entries.
			entries = entries[:w]
		}
		all = append(all, entries...)
	}
	return all, nil
}

// report collects the lines printed at the end of a successful run.
type report struct{ lines []string }

func (r *report) add(format string, args ...interface{}) {
	line := fmt.Sprintf(format, args...)
	r.lines = append(r.lines, line)
	fmt.Println("ok   " + line)
}

// checker holds what one run needs.
type checker struct {
	c        *client
	verifier note.Verifier
	vkey     string
	origin   string
	rep      *report
}

// fetchCheckpoint fetches and verifies the current checkpoint.
func (k *checker) fetchCheckpoint() (checkpoint, []byte, error) {
	u := k.c.logBase + "/checkpoint"
	msg, err := k.c.getOK(u, "text/plain; charset=utf-8")
	if err != nil {
		return checkpoint{}, nil, err
	}
	cp, n, err := openCheckpoint(msg, k.verifier)
	if err != nil {
		return checkpoint{}, nil, fail("checkpoint %s does not verify with key %s: %v", u, k.vkey, err)
	}
	if k.origin != "" && cp.origin != k.origin {
		return checkpoint{}, nil, fail("checkpoint origin %q, want %q", cp.origin, k.origin)
	}
	if len(n.Sigs) != 1 {
		return checkpoint{}, nil, fail("checkpoint has %d verified signatures by the log key, want 1", len(n.Sigs))
	}
	return cp, msg, nil
}

// checkTree recomputes the root from authenticated tiles and returns the
// hash reader over the tree.
func (k *checker) checkTree(cp checkpoint, tr *tileReader) (tlog.HashReader, error) {
	hr := tlog.TileHashReader(cp.tree, tr)
	if cp.tree.N == 0 {
		return hr, nil
	}
	root, err := tlog.TreeHash(cp.tree.N, hr)
	if err != nil {
		return nil, fail("tiles of tree %d do not authenticate against the checkpoint: %v", cp.tree.N, err)
	}
	if root != cp.tree.Hash {
		return nil, fail("tlog.TreeHash over the tiles is %v, the checkpoint says %v", root, cp.tree.Hash)
	}
	return hr, nil
}

// checkEntries checks every entry's record hash against the level-0 tiles
// and returns the record hashes.
func (k *checker) checkEntries(cp checkpoint, hr tlog.HashReader) ([][]byte, []tlog.Hash, error) {
	entries, err := k.c.fetchEntries(cp.tree.N)
	if err != nil {
		return nil, nil, err
	}
	if int64(len(entries)) != cp.tree.N {
		return nil, nil, fail("entry bundles hold %d entries, the tree has %d", len(entries), cp.tree.N)
	}
	hashes := make([]tlog.Hash, len(entries))
	for i, e := range entries {
		hashes[i] = tlog.RecordHash(e)
	}
	for start := int64(0); start < cp.tree.N; start += tileWidth {
		end := start + tileWidth
		if end > cp.tree.N {
			end = cp.tree.N
		}
		indexes := make([]int64, 0, end-start)
		for i := start; i < end; i++ {
			indexes = append(indexes, tlog.StoredHashIndex(0, i))
		}
		leaves, err := hr.ReadHashes(indexes)
		if err != nil {
			return nil, nil, fail("reading leaf hashes %d..%d from the tiles: %v", start, end-1, err)
		}
		for i := start; i < end; i++ {
			if hashes[i] != leaves[i-start] {
				return nil, nil, fail("entry %d hashes to %v (tlog.RecordHash), the level-0 tile holds %v; entry: %q",
					i, hashes[i], leaves[i-start], truncate(entries[i], 200))
			}
			if !json.Valid(entries[i]) {
				return nil, nil, fail("entry %d is not JSON: %q", i, truncate(entries[i], 200))
			}
		}
	}
	return entries, hashes, nil
}

// memoryHashes is a tlog.HashReader over stored hashes held in memory.
type memoryHashes []tlog.Hash

func (m memoryHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("stored hash %d is not in a tree of %d stored hashes", x, len(m))
		}
		out[i] = m[x]
	}
	return out, nil
}

// recomputeTree computes every stored hash of the tree from the entries
// themselves with tlog.StoredHashes, checks that tlog.TreeHash over them is
// the checkpoint's root, and returns them.
func recomputeTree(cp checkpoint, entries [][]byte) (memoryHashes, error) {
	var stored memoryHashes
	for i, e := range entries {
		more, err := tlog.StoredHashes(int64(i), e, stored)
		if err != nil {
			return nil, fail("tlog.StoredHashes for entry %d: %v", i, err)
		}
		stored = append(stored, more...)
	}
	root, err := tlog.TreeHash(cp.tree.N, stored)
	if err != nil {
		return nil, fail("tlog.TreeHash over the entries: %v", err)
	}
	if root != cp.tree.Hash {
		return nil, fail("the Merkle root of the %d entries (tlog.StoredHashes, tlog.TreeHash) is %v, the checkpoint says %v",
			len(entries), root, cp.tree.Hash)
	}
	return stored, nil
}

// servedTiles lists the tiles a log of size n serves: every full tile, and at
// each level the one partial tile of width floor(n / 256**L) mod 256 when it
// is not zero. (tlog.NewTiles from size 0 also lists every narrower partial
// tile, which C2SP does not require a log to keep.)
func servedTiles(n int64) []tlog.Tile {
	var out []tlog.Tile
	for _, t := range tlog.NewTiles(tileHeight, 0, n) {
		if t.W == tileWidth || int64(t.W) == (n>>uint(t.L*tileHeight))%tileWidth {
			out = append(out, t)
		}
	}
	return out
}

// checkAllTiles compares every served tile, byte for byte, with the tile
// tlog.ReadTileData builds from the stored hashes recomputed from the
// entries. This does not rely on tlog.TileHashReader, which in x/mod (at
// least up to 0.7.0) does not authenticate every tile it returns: its loop
// over the tiles to check against their parents starts at the number of
// hashes in the tree-hash plan rather than at the number of tiles in it, so
// a child tile fetched after a shared parent can be skipped.
func checkAllTiles(n int64, stored memoryHashes, tr *tileReader) (int, error) {
	tiles := servedTiles(n)
	data, err := tr.ReadTiles(tiles)
	if err != nil {
		return 0, err
	}
	for i, t := range tiles {
		want, err := tlog.ReadTileData(t, stored)
		if err != nil {
			return 0, fail("tlog.ReadTileData(%v): %v", t, err)
		}
		if !bytes.Equal(data[i], want) {
			path, _ := c2spTilePath(t)
			for j := 0; j < t.W; j++ {
				if !bytes.Equal(data[i][j*tlog.HashSize:(j+1)*tlog.HashSize], want[j*tlog.HashSize:(j+1)*tlog.HashSize]) {
					return 0, fail("tile %s: hash %d differs from the one recomputed from the entries", path, j)
				}
			}
			return 0, fail("tile %s differs from the one recomputed from the entries", path)
		}
	}
	return len(tiles), nil
}

// sampleIndexes picks the entries whose inclusion is proved: the edges of
// the tree and of its first tiles, and a few in between.
func sampleIndexes(n int64, extra int) []int64 {
	seen := make(map[int64]bool)
	var out []int64
	add := func(i int64) {
		if i >= 0 && i < n && !seen[i] {
			seen[i] = true
			out = append(out, i)
		}
	}
	for _, i := range []int64{0, 1, n / 2, n - 2, n - 1, 255, 256, 257, 511, 512} {
		add(i)
	}
	for j := 1; j <= extra; j++ {
		add(n * int64(j) / int64(extra+1))
	}
	sort.Slice(out, func(a, b int) bool { return out[a] < out[b] })
	return out
}

// checkProofs checks tlog.ProveRecord and tlog.CheckRecord over the tiles for
// the sample indexes.
func (k *checker) checkProofs(cp checkpoint, hr tlog.HashReader, hashes []tlog.Hash, sample []int64) error {
	for _, i := range sample {
		p, err := tlog.ProveRecord(cp.tree.N, i, hr)
		if err != nil {
			return fail("tlog.ProveRecord(%d, %d) over the tiles: %v", cp.tree.N, i, err)
		}
		if err := tlog.CheckRecord(p, cp.tree.N, cp.tree.Hash, i, hashes[i]); err != nil {
			return fail("tlog.CheckRecord for entry %d in tree %d: %v", i, cp.tree.N, err)
		}
	}
	return nil
}

// receipt is a parsed C2SP tlog-proof receipt.
type receipt struct {
	extra      []byte
	index      int64
	proof      tlog.RecordProof
	checkpoint []byte
}

// parseReceipt parses a tlog-proof receipt strictly: the header line, an
// optional "extra <base64>" line, "index <decimal>", zero or more base64
// hashes (leaf's sibling first), an empty line, then the checkpoint note
// verbatim.
func parseReceipt(data []byte) (receipt, error) {
	var r receipt
	text := string(data)
	next := func(what string) (string, error) {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return "", fmt.Errorf("missing %s", what)
		}
		line := text[:i]
		text = text[i+1:]
		return line, nil
	}
	line, err := next("header line")
	if err != nil {
		return r, err
	}
	if line != receiptHeader {
		return r, fmt.Errorf("first line %q, want %q", line, receiptHeader)
	}
	if line, err = next("index line"); err != nil {
		return r, err
	}
	if strings.HasPrefix(line, "extra ") {
		r.extra, err = base64.StdEncoding.DecodeString(strings.TrimPrefix(line, "extra "))
		if err != nil || len(r.extra) == 0 {
			return r, fmt.Errorf("extra line %q is not non-empty base64", line)
		}
		if line, err = next("index line"); err != nil {
			return r, err
		}
	}
	if !strings.HasPrefix(line, "index ") {
		return r, fmt.Errorf("line %q, want \"index <n>\"", line)
	}
	if r.index, err = parseDecimal(strings.TrimPrefix(line, "index ")); err != nil {
		return r, fmt.Errorf("index line %q: %v", line, err)
	}
	for {
		if line, err = next("empty line before the checkpoint"); err != nil {
			return r, err
		}
		if line == "" {
			break
		}
		h, err := parseHash(line)
		if err != nil {
			return r, fmt.Errorf("proof line %q: %v", line, err)
		}
		r.proof = append(r.proof, h)
	}
	if text == "" {
		return r, errors.New("missing checkpoint")
	}
	r.checkpoint = []byte(text)
	return r, nil
}

// verifyReceipt checks a receipt for entry index: its checkpoint with
// note.Open, its origin, and its inclusion proof with tlog.CheckRecord for
// the record hash of the entry. It returns the receipt's checkpoint.
func (k *checker) verifyReceipt(body []byte, index int64, recordHash tlog.Hash, origin string) (checkpoint, receipt, error) {
	r, err := parseReceipt(body)
	if err != nil {
		return checkpoint{}, r, fail("receipt for entry %d is malformed: %v", index, err)
	}
	if r.index != index {
		return checkpoint{}, r, fail("receipt for entry %d says index %d", index, r.index)
	}
	cp, _, err := openCheckpoint(r.checkpoint, k.verifier)
	if err != nil {
		return checkpoint{}, r, fail("receipt for entry %d: its checkpoint does not verify: %v", index, err)
	}
	if cp.origin != origin {
		return checkpoint{}, r, fail("receipt for entry %d: checkpoint origin %q, want %q", index, cp.origin, origin)
	}
	if index >= cp.tree.N {
		return checkpoint{}, r, fail("receipt for entry %d: its checkpoint has only %d entries", index, cp.tree.N)
	}
	if err := tlog.CheckRecord(r.proof, cp.tree.N, cp.tree.Hash, index, recordHash); err != nil {
		return checkpoint{}, r, fail("receipt for entry %d: tlog.CheckRecord rejects its inclusion proof in tree %d: %v",
			index, cp.tree.N, err)
	}
	return cp, r, nil
}

// checkReceipts fetches and verifies the receipts of the sample indexes. A
// receipt for the same tree must carry exactly the proof tlog.ProveRecord
// computes from the tiles; a receipt for another tree must be consistent
// with the checked one.
func (k *checker) checkReceipts(cp checkpoint, hr tlog.HashReader, hashes []tlog.Hash, sample []int64, tr *tileReader) (int, error) {
	for _, i := range sample {
		u := fmt.Sprintf("%s/v1/log/proof/%d", k.c.server, i)
		body, err := k.c.getOK(u, "text/plain; charset=utf-8")
		if err != nil {
			return 0, err
		}
		rcp, r, err := k.verifyReceipt(body, i, hashes[i], cp.origin)
		if err != nil {
			return 0, err
		}
		if rcp.tree == cp.tree {
			want, err := tlog.ProveRecord(cp.tree.N, i, hr)
			if err != nil {
				return 0, fail("tlog.ProveRecord(%d, %d): %v", cp.tree.N, i, err)
			}
			if !equalProofs(want, r.proof) {
				return 0, fail("receipt for entry %d carries a proof of %d hashes that differs from tlog.ProveRecord's %d",
					i, len(r.proof), len(want))
			}
		} else if err := k.checkConsistency(cp, rcp, tr); err != nil {
			return 0, err
		}
	}
	return len(sample), nil
}

func equalProofs(a, b tlog.RecordProof) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkConsistency checks that two verified trees are consistent: the
// larger one's tiles prove the smaller one's root (tlog.ProveTree, then
// tlog.CheckTree).
func (k *checker) checkConsistency(a, b checkpoint, tr *tileReader) error {
	if a.tree.N > b.tree.N {
		a, b = b, a
	}
	if a.tree.N == b.tree.N {
		if a.tree.Hash != b.tree.Hash {
			return fail("two checkpoints of size %d have different roots %v and %v (split view)", a.tree.N, a.tree.Hash, b.tree.Hash)
		}
		return nil
	}
	if a.tree.N == 0 {
		return nil
	}
	hr := tlog.TileHashReader(b.tree, tr)
	p, err := tlog.ProveTree(b.tree.N, a.tree.N, hr)
	if err != nil {
		return fail("tlog.ProveTree(%d, %d) over the tiles: %v", b.tree.N, a.tree.N, err)
	}
	if err := tlog.CheckTree(p, b.tree.N, b.tree.Hash, a.tree.N, a.tree.Hash); err != nil {
		return fail("tree %d is not consistent with tree %d: %v", a.tree.N, b.tree.N, err)
	}
	return nil
}

// submit appends n entries with POST <server>/v1/log/entries (at most 16 in
// flight) and returns the receipts the server answered with, by index.
func (k *checker) submit(n int, token string) (map[int64][]byte, error) {
	type answer struct {
		Index   int64  `json:"index"`
		Receipt string `json:"receipt"`
	}
	receipts := make(map[int64][]byte)
	var mu sync.Mutex
	errs := make(chan error, n)
	limit := make(chan struct{}, 16)
	var wg sync.WaitGroup
	for j := 0; j < n; j++ {
		wg.Add(1)
		go func(j int) {
			defer wg.Done()
			limit <- struct{}{}
			defer func() { <-limit }()
			body := fmt.Sprintf(`{"kind":"interop.go-tlog","actor":"go-tlog","purpose":"interop-check-%d"}`, j)
			req, err := http.NewRequest(http.MethodPost, k.c.server+"/v1/log/entries", strings.NewReader(body))
			if err != nil {
				errs <- err
				return
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := k.c.http.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
			if resp.StatusCode != http.StatusCreated {
				errs <- fail("POST /v1/log/entries: HTTP %d: %s", resp.StatusCode, truncate(raw, 200))
				return
			}
			var a answer
			if err := json.Unmarshal(raw, &a); err != nil {
				errs <- fail("POST /v1/log/entries answered %q: %v", truncate(raw, 200), err)
				return
			}
			mu.Lock()
			receipts[a.Index] = []byte(a.Receipt)
			mu.Unlock()
		}(j)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		return nil, err
	}
	if len(receipts) != n {
		return nil, fail("%d submissions answered with %d distinct indexes", n, len(receipts))
	}
	return receipts, nil
}

// run performs every check and returns the first failure.
func run(k *checker, submitN int, token string, samples int, tamper bool) error {
	rep := k.rep
	first, _, err := k.fetchCheckpoint()
	if err != nil {
		return err
	}
	rep.add("checkpoint %q size %d root %v verifies with note.Open (key %s)", first.origin, first.tree.N, first.tree.Hash, k.verifier.Name())

	var submitted map[int64][]byte
	if submitN > 0 {
		if submitted, err = k.submit(submitN, token); err != nil {
			return err
		}
		rep.add("appended %d entries with POST /v1/log/entries", submitN)
	}

	cp, cpMsg, err := k.fetchCheckpoint()
	if err != nil {
		return err
	}
	if len(submitted) > 0 {
		// POST /v1/log/entries answers once the batch's checkpoint is
		// signed and committed; the log publishes that checkpoint and its
		// tiles just after, so the served checkpoint may briefly lag the
		// receipts. Wait (at most ten seconds) until it covers them all.
		var want int64
		for i := range submitted {
			if i+1 > want {
				want = i + 1
			}
		}
		waited := time.Now()
		lagged := cp.tree.N < want
		for cp.tree.N < want {
			if time.Since(waited) > 10*time.Second {
				return fail("the served checkpoint still has %d entries 10 s after receipts for %d entries were returned", cp.tree.N, want)
			}
			time.Sleep(20 * time.Millisecond)
			if cp, cpMsg, err = k.fetchCheckpoint(); err != nil {
				return err
			}
		}
		if lagged {
			rep.add("the served checkpoint reached size %d %d ms after the last receipt (publication lags the answer)",
				cp.tree.N, time.Since(waited).Milliseconds())
		}
	}
	if cp.origin != first.origin {
		return fail("checkpoint origin changed from %q to %q", first.origin, cp.origin)
	}
	tr := newTileReader(k.c)
	if err := k.checkConsistency(first, cp, tr); err != nil {
		return err
	}
	if cp.tree.N != first.tree.N {
		rep.add("tree %d is consistent with tree %d (tlog.ProveTree, tlog.CheckTree)", first.tree.N, cp.tree.N)
	}
	if cp.tree.N == 0 {
		return fail("the log is empty: nothing to check")
	}

	hr, err := k.checkTree(cp, tr)
	if err != nil {
		return err
	}
	rep.add("tlog.TreeHash over %d tiles authenticated by tlog.TileHashReader equals the checkpoint root", len(tr.cache))

	entries, hashes, err := k.checkEntries(cp, hr)
	if err != nil {
		return err
	}
	bundles := (cp.tree.N + tileWidth - 1) / tileWidth
	rep.add("%d entries in %d bundles: tlog.RecordHash of each equals its level-0 tile hash", len(entries), bundles)

	stored, err := recomputeTree(cp, entries)
	if err != nil {
		return err
	}
	rep.add("the entries alone give the checkpoint root (tlog.StoredHashes, tlog.TreeHash)")
	tiles, err := checkAllTiles(cp.tree.N, stored, tr)
	if err != nil {
		return err
	}
	rep.add("all %d served tiles equal tlog.ReadTileData over the hashes recomputed from the entries", tiles)

	sample := sampleIndexes(cp.tree.N, samples)
	if err := k.checkProofs(cp, hr, hashes, sample); err != nil {
		return err
	}
	rep.add("tlog.ProveRecord and tlog.CheckRecord agree for %d entries %v", len(sample), sample)

	n, err := k.checkReceipts(cp, hr, hashes, sample, tr)
	if err != nil {
		return err
	}
	rep.add("%d tlog-proof receipts from /v1/log/proof verify (note.Open, tlog.CheckRecord)", n)

	if submitN > 0 {
		for i, body := range submitted {
			if i >= cp.tree.N {
				return fail("submission receipt index %d is beyond the checked tree of %d entries", i, cp.tree.N)
			}
			rcp, _, err := k.verifyReceipt(body, i, hashes[i], cp.origin)
			if err != nil {
				return err
			}
			if err := k.checkConsistency(rcp, cp, tr); err != nil {
				return err
			}
		}
		rep.add("%d receipts returned by POST /v1/log/entries verify and their trees are consistent", len(submitted))
	}

	if tamper {
		detected, err := k.tamperChecks(cp, cpMsg, entries, hashes, stored)
		if err != nil {
			return err
		}
		rep.add("%d tampering cases are all rejected by x/mod", detected)
	}
	return nil
}

// tamperChecks feeds x/mod altered data and insists that each alteration is
// rejected, so that a passing run means the checks above could have failed.
func (k *checker) tamperChecks(cp checkpoint, cpMsg []byte, entries [][]byte, hashes []tlog.Hash, stored memoryHashes) (int, error) {
	cases := 0

	// A checkpoint checked against another key with the same name must not
	// verify.
	_, otherVkey, err := note.GenerateKey(nil, k.verifier.Name())
	if err != nil {
		return 0, err
	}
	other, err := note.NewVerifier(otherVkey)
	if err != nil {
		return 0, err
	}
	if _, _, err := openCheckpoint(cpMsg, other); err == nil {
		return 0, fail("tamper: the checkpoint verified under an unrelated key %s", otherVkey)
	}
	cases++

	// A checkpoint with one bit of its signature flipped must not verify.
	sigStart := bytes.LastIndex(cpMsg, []byte("\n\n— "))
	if sigStart < 0 {
		return 0, fail("tamper: no signature line in the checkpoint")
	}
	lineEnd := sigStart + 2 + bytes.IndexByte(cpMsg[sigStart+2:], '\n')
	sigLine := string(cpMsg[sigStart+2 : lineEnd])
	space := strings.LastIndexByte(sigLine, ' ')
	raw, err := base64.StdEncoding.DecodeString(sigLine[space+1:])
	if err != nil || len(raw) < 5 {
		return 0, fail("tamper: cannot decode the signature line %q", sigLine)
	}
	raw[len(raw)-1] ^= 1
	flipped := append([]byte{}, cpMsg[:sigStart+2]...)
	flipped = append(flipped, sigLine[:space+1]+base64.StdEncoding.EncodeToString(raw)...)
	flipped = append(flipped, cpMsg[lineEnd:]...)
	if _, _, err := openCheckpoint(flipped, k.verifier); err == nil {
		return 0, fail("tamper: the checkpoint verified with a flipped signature bit")
	}
	cases++

	// A checkpoint whose body changed (the size) must not verify.
	resized := bytes.Replace(cpMsg, []byte(fmt.Sprintf("\n%d\n", cp.tree.N)), []byte(fmt.Sprintf("\n%d\n", cp.tree.N+1)), 1)
	if _, _, err := openCheckpoint(resized, k.verifier); err == nil {
		return 0, fail("tamper: the checkpoint verified with a changed size line")
	}
	cases++

	// Tiles with a flipped bit in their last hash must not give the root
	// through tlog.TileHashReader.
	tr := newTileReader(k.c)
	tr.tamper = func(t tlog.Tile, data []byte) []byte {
		data = append([]byte{}, data...)
		data[len(data)-1] ^= 1
		return data
	}
	if _, err := tlog.TreeHash(cp.tree.N, tlog.TileHashReader(cp.tree, tr)); err == nil {
		return 0, fail("tamper: tiles with a flipped bit gave the root through tlog.TileHashReader")
	}
	cases++

	// The first level-0 tile with one flipped bit must differ from the one
	// recomputed from the entries.
	tr.tamper = func(t tlog.Tile, data []byte) []byte {
		if t.L == 0 && t.N == 0 {
			data = append([]byte{}, data...)
			data[0] ^= 1
		}
		return data
	}
	if _, err := checkAllTiles(cp.tree.N, stored, tr); err == nil {
		return 0, fail("tamper: a level-0 tile with a flipped bit matched the recomputed tiles")
	}
	cases++

	// The same tree with a different root must not authenticate the tiles.
	wrong := cp.tree
	wrong.Hash[0] ^= 1
	if _, err := tlog.TreeHash(wrong.N, tlog.TileHashReader(wrong, newTileReader(k.c))); err == nil {
		return 0, fail("tamper: the tiles authenticated against a wrong root")
	}
	cases++

	// An entry with one flipped bit must not hash to its leaf.
	changed := append([]byte{}, entries[0]...)
	changed[len(changed)-1] ^= 1
	if tlog.RecordHash(changed) == hashes[0] {
		return 0, fail("tamper: a changed entry hashes to the same leaf")
	}
	altered := append([][]byte{changed}, entries[1:]...)
	if _, err := recomputeTree(cp, altered); err == nil {
		return 0, fail("tamper: entries with one changed entry gave the checkpoint root")
	}
	cases++

	// A receipt with a flipped proof bit, or for a different entry, must
	// not verify.
	i := cp.tree.N - 1
	body, err := k.c.getOK(fmt.Sprintf("%s/v1/log/proof/%d", k.c.server, i), "text/plain; charset=utf-8")
	if err != nil {
		return 0, err
	}
	r, err := parseReceipt(body)
	if err != nil {
		return 0, fail("receipt for entry %d is malformed: %v", i, err)
	}
	rcp, _, err := openCheckpoint(r.checkpoint, k.verifier)
	if err != nil {
		return 0, fail("receipt for entry %d: %v", i, err)
	}
	if len(r.proof) > 0 {
		bad := append(tlog.RecordProof{}, r.proof...)
		bad[0][0] ^= 1
		if tlog.CheckRecord(bad, rcp.tree.N, rcp.tree.Hash, i, hashes[i]) == nil {
			return 0, fail("tamper: a receipt proof with a flipped bit verified")
		}
		cases++
	}
	if i > 0 {
		if tlog.CheckRecord(r.proof, rcp.tree.N, rcp.tree.Hash, i, hashes[i-1]) == nil {
			return 0, fail("tamper: the receipt for entry %d verified for entry %d's hash", i, i-1)
		}
		cases++
	}
	return cases, nil
}

func main() {
	logURL := flag.String("log", "", "the log's base URL, e.g. http://127.0.0.1:8080/log")
	vkey := flag.String("vkey", "", "the log's verifier key, name+hash+base64")
	origin := flag.String("origin", "", "the expected checkpoint origin (default: not checked)")
	server := flag.String("server", "", "the base URL of /v1/log/... (default: the log URL's scheme and host)")
	submitN := flag.Int("submit", 0, "append this many entries with POST /v1/log/entries first (needs -token)")
	token := flag.String("token", "", "the bearer token for POST /v1/log/entries")
	samples := flag.Int("samples", 6, "how many evenly spread entries to prove, beyond the tree's edges")
	tamper := flag.Bool("tamper", true, "also check that tampered data is rejected")
	timeout := flag.Duration("timeout", 20*time.Second, "the timeout of each HTTP request")
	randomVkey := flag.String("random-vkey", "", "print a fresh verifier key with this name and exit (for negative tests)")
	flag.Parse()

	if *randomVkey != "" {
		_, v, err := note.GenerateKey(nil, *randomVkey)
		if err != nil {
			fmt.Fprintln(os.Stderr, "go-tlog:", err)
			os.Exit(2)
		}
		fmt.Println(v)
		return
	}
	if *logURL == "" || *vkey == "" || flag.NArg() != 0 || (*submitN > 0 && *token == "") {
		fmt.Fprintln(os.Stderr, "usage: go-tlog -log URL -vkey NAME+HASH+BASE64 [-origin O] [-server URL] [-submit N -token T] [-samples N] [-tamper=false]")
		os.Exit(2)
	}
	base := strings.TrimSuffix(*logURL, "/")
	if *server == "" {
		parsed, err := url.Parse(base)
		if err != nil || parsed.Scheme == "" || parsed.Host == "" {
			fmt.Fprintf(os.Stderr, "go-tlog: -log %q is not an absolute URL\n", *logURL)
			os.Exit(2)
		}
		*server = parsed.Scheme + "://" + parsed.Host
	}
	verifier, err := note.NewVerifier(*vkey)
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL: the verifier key %q is not a valid note key: %v\n", *vkey, err)
		os.Exit(1)
	}
	k := &checker{
		c:        &client{http: &http.Client{Timeout: *timeout}, logBase: base, server: strings.TrimSuffix(*server, "/")},
		verifier: verifier,
		vkey:     *vkey,
		origin:   *origin,
		rep:      &report{},
	}
	started := time.Now()
	if err := run(k, *submitN, *token, *samples, *tamper); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL:", err)
		os.Exit(1)
	}
	fmt.Printf("PASS: %d checks against %s with golang.org/x/mod/sumdb (%d HTTP requests, %d partial-tile fallbacks, %.2f s)\n",
		len(k.rep.lines), base, k.c.fetches, k.c.fallbacks, time.Since(started).Seconds())
}
