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

// table holds records by id; the Fake's mutex guards it.
type table[K cmp.Ordered, V record[K, V]] map[K]V

func (t table[K, V]) put(recs ...V) {
	for _, r := range recs {
		t[r.key()] = r.clone()
	}
}

func (t table[K, V]) get(id K) (V, bool) {
	r, ok := t[id]
	return r.clone(), ok
}

// sorted returns copies of the records in ascending id order.
func (t table[K, V]) sorted() []V {
	out := make([]V, 0, len(t))
	for _, id := range slices.Sorted(maps.Keys(t)) {
		out = append(out, t[id].clone())
	}
	return out
}

// remove deletes the record with id and reports whether it existed.
func (t table[K, V]) remove(id K) bool {
	_, ok := t[id]
	delete(t, id)
	return ok
}
