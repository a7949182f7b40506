package db

// WaitFannedOut exposes the hub's fan-out signal to the tests of package
// db_test.
var WaitFannedOut = (*Hub).waitFannedOut
