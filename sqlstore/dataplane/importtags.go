package dataplane

import (
	"hash/maphash"
	"math/bits"
)

// tagFilter is a Bloom filter of the tags the tenant may have: those it had
// when the import began, and those the import has written since. A tag it
// does not hold is certainly free, so the importer asks the database only
// of the tags it holds: mostly none when a file creates assets. (Asking of
// every tag cost SQLite about 8% of an import; on PostgreSQL, where the
// statistics of a table an import is filling say it is empty, each such
// look-up could read all of the tenant's assets.) Its size is fixed when
// the import begins, so memory stays bounded however long the file; past
// its capacity it holds more tags falsely, which costs look-ups, never
// answers.
type tagFilter struct {
	bits []uint64
	seed maphash.Seed
}

// tagBitsEach and tagHashes give a false positive about once in 200 tags
// at capacity.
const (
	tagBitsEach = 12
	tagHashes   = 8
	minTags     = 1 << 20
)

// newTagFilter returns a filter for about twice n tags, and at least a
// million (1.5 MiB).
func newTagFilter(n int) *tagFilter {
	words := max(2*n, minTags) * tagBitsEach / 64
	return &tagFilter{bits: make([]uint64, 1<<bits.Len(uint(words-1))), seed: maphash.MakeSeed()}
}

// each calls fn with the bit positions of tag.
func (f *tagFilter) each(tag string, fn func(word int, bit uint64) bool) bool {
	h := maphash.String(f.seed, tag)
	h1, h2 := h, bits.RotateLeft64(h, 32)|1
	mask := uint64(len(f.bits)*64 - 1)
	for i := range uint64(tagHashes) {
		pos := (h1 + i*h2) & mask
		if !fn(int(pos/64), 1<<(pos%64)) {
			return false
		}
	}
	return true
}

func (f *tagFilter) add(tag string) {
	f.each(tag, func(w int, b uint64) bool { f.bits[w] |= b; return true })
}

// has reports whether the tenant may have tag: false means it has not.
func (f *tagFilter) has(tag string) bool {
	return f.each(tag, func(w int, b uint64) bool { return f.bits[w]&b != 0 })
}
