package db

// The point read's statements, exported for TestPointReadUsesIndexes.
var (
	PointReadContactSQL    = "SELECT " + contactColumns + " FROM contacts c WHERE c.workspace_id = $1 AND c.id = " + redirectedID
	PointReadIdentitiesSQL = "SELECT " + identityColumns + " FROM contact_identities i WHERE i.workspace_id = $1 AND i.contact_id = " +
		redirectedID + " ORDER BY i.created_at, i.type, i.value"
)

// SearchIDsMax lets a test move the threshold between a search's two
// plans (see searchCondition); tests that set it must not run in parallel.
var SearchIDsMax = &searchIDsMax
