package main

import (
	"fmt"

	"github.com/crmhub/crmhub/db"
)

// secretKey prints a fresh CRMHUB_SECRET_KEY.
func (c *cli) secretKey(args []string) error {
	fs := c.newFlagSet("secret-key", "secret-key [--json]\n\n"+
		"Prints a new random key for CRMHUB_SECRET_KEY, which encrypts webhook\n"+
		"secrets at rest. Keep it: without it stored secrets cannot be read and\n"+
		"every webhook endpoint's secret must be rotated.")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	s := db.NewSecretKey()
	if *asJSON {
		return printJSON(c.stdout, map[string]string{"secretKey": s})
	}
	fmt.Fprintln(c.stdout, s)
	return nil
}
