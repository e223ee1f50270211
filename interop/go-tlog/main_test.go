// Tests of the parts of the checker that are ours rather than x/mod's: the
// tile path mapping and the text format parsers.
package main

import (
	"encoding/base64"
	"strings"
	"testing"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// TestC2SPTilePath checks the mapping against the examples of C2SP
// tlog-tiles and against x/mod's own path parser.
func TestC2SPTilePath(t *testing.T) {
	cases := []struct {
		tile tlog.Tile
		want string
	}{
		{tlog.Tile{H: 8, L: 0, N: 0, W: 256}, "tile/0/000"},
		{tlog.Tile{H: 8, L: 0, N: 1234, W: 5}, "tile/0/x001/234.p/5"},
		{tlog.Tile{H: 8, L: 2, N: 1234067, W: 256}, "tile/2/x001/x234/067"},
		{tlog.Tile{H: 8, L: 1, N: 3, W: 17}, "tile/1/003.p/17"},
		{tlog.Tile{H: 8, L: -1, N: 1000, W: 256}, "tile/entries/x001/000"},
		{tlog.Tile{H: 8, L: -1, N: 0, W: 112}, "tile/entries/000.p/112"},
	}
	for _, c := range cases {
		got, err := c2spTilePath(c.tile)
		if err != nil || got != c.want {
			t.Errorf("c2spTilePath(%+v) = %q, %v; want %q", c.tile, got, err, c.want)
		}
		// Putting the height back must give a path x/mod parses to the
		// same tile.
		goPath := "tile/8/" + strings.TrimPrefix(strings.Replace(got, "tile/entries/", "tile/data/", 1), "tile/")
		parsed, err := tlog.ParseTilePath(goPath)
		if err != nil || parsed != c.tile {
			t.Errorf("tlog.ParseTilePath(%q) = %+v, %v; want %+v", goPath, parsed, err, c.tile)
		}
	}
	if _, err := c2spTilePath(tlog.Tile{H: 2, L: 0, N: 0, W: 4}); err == nil {
		t.Error("a tile of height 2 was mapped to a C2SP path")
	}
}

// TestParseCheckpoint checks the strict checkpoint body parser.
func TestParseCheckpoint(t *testing.T) {
	root := base64.StdEncoding.EncodeToString(make([]byte, 32))
	good := "example.com/log\n42\n" + root + "\nextension one\n"
	c, err := parseCheckpoint(good)
	if err != nil || c.origin != "example.com/log" || c.tree.N != 42 || len(c.extensions) != 1 {
		t.Fatalf("parseCheckpoint(good) = %+v, %v", c, err)
	}
	for _, bad := range []string{
		"example.com/log\n42\n" + root,
		"example.com/log\n042\n" + root + "\n",
		"example.com/log\n-1\n" + root + "\n",
		"example.com/log\n42\n" + root[:40] + "\n",
		"\n42\n" + root + "\n",
		"example.com/log\n42\n" + root + "\n\n",
	} {
		if _, err := parseCheckpoint(bad); err == nil {
			t.Errorf("parseCheckpoint(%q) succeeded", bad)
		}
	}
}

// TestParseReceipt checks the receipt parser and a signed round trip through
// note.Sign, note.Open and tlog.CheckRecord.
func TestParseReceipt(t *testing.T) {
	skey, vkey, err := note.GenerateKey(nil, "example.com/log")
	if err != nil {
		t.Fatal(err)
	}
	signer, _ := note.NewSigner(skey)
	verifier, _ := note.NewVerifier(vkey)
	records := [][]byte{[]byte("a"), []byte("b"), []byte("c")}
	var stored []tlog.Hash
	for i, r := range records {
		hashes, err := tlog.StoredHashes(int64(i), r, tlog.HashReaderFunc(func(x []int64) ([]tlog.Hash, error) {
			out := make([]tlog.Hash, len(x))
			for j, k := range x {
				out[j] = stored[k]
			}
			return out, nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		stored = append(stored, hashes...)
	}
	reader := tlog.HashReaderFunc(func(x []int64) ([]tlog.Hash, error) {
		out := make([]tlog.Hash, len(x))
		for j, k := range x {
			out[j] = stored[k]
		}
		return out, nil
	})
	root, _ := tlog.TreeHash(3, reader)
	proof, _ := tlog.ProveRecord(3, 1, reader)
	body := "example.com/log\n3\n" + base64.StdEncoding.EncodeToString(root[:]) + "\n"
	signed, err := note.Sign(&note.Note{Text: body}, signer)
	if err != nil {
		t.Fatal(err)
	}
	text := receiptHeader + "\nextra eA==\nindex 1\n"
	for _, h := range proof {
		text += base64.StdEncoding.EncodeToString(h[:]) + "\n"
	}
	text += "\n" + string(signed)
	r, err := parseReceipt([]byte(text))
	if err != nil || r.index != 1 || string(r.extra) != "x" || len(r.proof) != len(proof) {
		t.Fatalf("parseReceipt = %+v, %v", r, err)
	}
	k := &checker{verifier: verifier}
	if _, _, err := k.verifyReceipt([]byte(text), 1, tlog.RecordHash(records[1]), "example.com/log"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.verifyReceipt([]byte(text), 1, tlog.RecordHash(records[0]), "example.com/log"); err == nil {
		t.Fatal("a receipt verified for the wrong record")
	}
	for _, bad := range []string{
		"c2sp.org/tlog-proof@v2\nindex 1\n\n" + string(signed),
		receiptHeader + "\nindex 01\n\n" + string(signed),
		receiptHeader + "\nextra \nindex 1\n\n" + string(signed),
		receiptHeader + "\nindex 1\n\n",
		receiptHeader + "\nindex 1\nnot-base64\n\n" + string(signed),
	} {
		if _, err := parseReceipt([]byte(bad)); err == nil {
			t.Errorf("parseReceipt(%q) succeeded", bad)
		}
	}
}

// TestParseBundle checks the entry bundle parser.
func TestParseBundle(t *testing.T) {
	entries, err := parseBundle([]byte{0, 1, 'a', 0, 0, 0, 2, 'b', 'c'})
	if err != nil || len(entries) != 3 || string(entries[2]) != "bc" || len(entries[1]) != 0 {
		t.Fatalf("parseBundle = %q, %v", entries, err)
	}
	for _, bad := range [][]byte{{0}, {0, 2, 'a'}, {0, 1, 'a', 0}} {
		if _, err := parseBundle(bad); err == nil {
			t.Errorf("parseBundle(%v) succeeded", bad)
		}
	}
}
