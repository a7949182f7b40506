package db

// Pure webhook rules and the sealer's primitives, exported for the tests of
// package db_test.
var (
	WebhookRetryWait = webhookRetryWait
	SealerSeal       = (*Sealer).seal
	SealerOpen       = (*Sealer).open
)
