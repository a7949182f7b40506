package db

// The sealer's primitives, exported for the tests of package db_test.
var (
	SealerSeal = (*Sealer).seal
	SealerOpen = (*Sealer).open
)
