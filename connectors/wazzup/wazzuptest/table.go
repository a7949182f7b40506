package wazzuptest

import (
	"cmp"
	"maps"
	"slices"
)

// record is a stored entity that knows its id and how to copy itself, so
// no caller shares a slice with the store.
type record[K cmp.Ordered, V any] interface {
	key() K
	clone() V
}

// table holds records by id, with their ids in order, kept until the next
// insert or removal so that listing a page of a large table does not sort
// and copy all of it; the Fake's mutex guards it.
type table[K cmp.Ordered, V record[K, V]] struct {
	m    map[K]V
	keys []K // ascending; nil when it must be rebuilt
}

func (t *table[K, V]) put(recs ...V) {
	if t.m == nil {
		t.m = map[K]V{}
	}
	for _, r := range recs {
		if _, ok := t.m[r.key()]; !ok {
			t.keys = nil
		}
		t.m[r.key()] = r.clone()
	}
}

func (t *table[K, V]) get(id K) (V, bool) {
	r, ok := t.m[id]
	return r.clone(), ok
}

func (t *table[K, V]) len() int { return len(t.m) }

func (t *table[K, V]) sortedKeys() []K {
	if t.keys == nil {
		t.keys = slices.Sorted(maps.Keys(t.m))
	}
	return t.keys
}

// sorted returns copies of the records in ascending id order.
func (t *table[K, V]) sorted() []V {
	keys := t.sortedKeys()
	out := make([]V, 0, len(keys))
	for _, id := range keys {
		out = append(out, t.m[id].clone())
	}
	return out
}

// page returns copies of the records at offset, at most pageSize of
// them, in ascending id order.
func (t *table[K, V]) page(offset int) []V {
	keys := page(t.sortedKeys(), offset)
	out := make([]V, 0, len(keys))
	for _, id := range keys {
		out = append(out, t.m[id].clone())
	}
	return out
}

// remove deletes the record with id and reports whether it existed.
func (t *table[K, V]) remove(id K) bool {
	_, ok := t.m[id]
	if ok {
		delete(t.m, id)
		t.keys = nil
	}
	return ok
}
