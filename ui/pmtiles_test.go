package ui_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
)

// A PMTiles archive for the base-map journey (e2e/basemap.spec.ts), made
// here rather than committed: one vector tile of the whole world at zoom
// 0 in the layers the console's style reads (the Protomaps basemap
// schema), land ("earth") over all of it and sea ("water") over its
// southern half, so a map that draws it shows land where the bundled
// outlines have ocean. The format is PMTiles v3
// (https://github.com/protomaps/PMTiles/blob/main/spec/v3/spec.md) with
// gzip, and the tile a Mapbox Vector Tile v2
// (https://github.com/mapbox/vector-tile-spec/tree/master/2.1).

// mvtExtent is the tile's coordinate range.
const mvtExtent = 4096

// writeWorldPMTiles writes the archive into a temporary directory and
// returns its path.
func writeWorldPMTiles(t *testing.T) string {
	t.Helper()
	const half = mvtExtent / 2
	tile := mvtTile(
		mvtLayer("earth", mvtRectangle(0, 0, mvtExtent, mvtExtent)),
		mvtLayer("water", mvtRectangle(0, half, mvtExtent, mvtExtent)),
	)
	path := filepath.Join(t.TempDir(), "world.pmtiles")
	if err := os.WriteFile(path, pmtilesArchive(t, tile, `{"vector_layers":[{"id":"earth","fields":{}},{"id":"water","fields":{}}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// pmtilesArchive lays out header, root directory, metadata and the one
// tile (at zoom 0, tile id 0), each compressed with gzip.
func pmtilesArchive(t *testing.T, tile []byte, metadata string) []byte {
	t.Helper()
	data := gzipped(t, tile)
	// The directory: one entry, its tile id (delta from 0), its run
	// length, its length, and its offset in the tile data plus one.
	var dir []byte
	for _, v := range []uint64{1, 0, 1, uint64(len(data)), 1} {
		dir = binary.AppendUvarint(dir, v)
	}
	dir = gzipped(t, dir)
	meta := gzipped(t, []byte(metadata))

	const headerLen = 127
	h := make([]byte, headerLen)
	copy(h, "PMTiles")
	h[7] = 3 // spec version
	offset := uint64(headerLen)
	for i, part := range [][]byte{dir, meta, nil, data} { // root directory, metadata, leaf directories, tile data
		binary.LittleEndian.PutUint64(h[8+16*i:], offset)
		binary.LittleEndian.PutUint64(h[16+16*i:], uint64(len(part)))
		offset += uint64(len(part))
	}
	for i := range 3 { // addressed tiles, tile entries, tile contents
		binary.LittleEndian.PutUint64(h[72+8*i:], 1)
	}
	h[96] = 1                                                // clustered
	h[97] = 2                                                // internal compression: gzip
	h[98] = 2                                                // tile compression: gzip
	h[99] = 1                                                // tile type: MVT
	h[100] = 0                                               // min zoom
	h[101] = 0                                               // max zoom
	for i, e7 := range []int32{-180e7, -85e7, 180e7, 85e7} { // bounds: min lon, min lat, max lon, max lat
		binary.LittleEndian.PutUint32(h[102+4*i:], uint32(e7))
	}
	// Centre at zoom 0, longitude 0, latitude 0: the zeros already there.
	return bytes.Join([][]byte{h, dir, meta, data}, nil)
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// Protocol buffers, as much as a vector tile needs.

func pbVarint(b []byte, field int, v uint64) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3) // wire type 0
	return binary.AppendUvarint(b, v)
}

func pbBytes(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|2) // wire type 2
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// mvtTile is a tile of the layers given (Tile.layers = 3).
func mvtTile(layers ...[]byte) []byte {
	var b []byte
	for _, l := range layers {
		b = pbBytes(b, 3, l)
	}
	return b
}

// mvtLayer is a layer of one polygon feature without properties.
func mvtLayer(name string, geometry []uint32) []byte {
	var packed []byte
	for _, g := range geometry {
		packed = binary.AppendUvarint(packed, uint64(g))
	}
	feature := pbVarint(nil, 3, 3) // type: polygon
	feature = pbBytes(feature, 4, packed)
	b := pbVarint(nil, 15, 2) // version
	b = pbBytes(b, 1, []byte(name))
	b = pbBytes(b, 2, feature)
	return pbVarint(b, 5, mvtExtent)
}

// mvtRectangle is the geometry of a rectangle's ring, clockwise with y
// down (an exterior ring): MoveTo the top left, LineTo the three other
// corners, ClosePath.
func mvtRectangle(x0, y0, x1, y1 int32) []uint32 {
	command := func(id, count uint32) uint32 { return id | count<<3 }
	zigzag := func(n int32) uint32 { return uint32((n << 1) ^ (n >> 31)) }
	return []uint32{
		command(1, 1), zigzag(x0), zigzag(y0),
		command(2, 3), zigzag(x1 - x0), 0, 0, zigzag(y1 - y0), zigzag(x0 - x1), 0,
		command(7, 1),
	}
}
