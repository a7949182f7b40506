package main

import (
	"context"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/crmhub/crmhub"
	"github.com/crmhub/crmhub/db"
)

func (c *cli) apikey(ctx context.Context, args []string) error {
	sub, args, err := subcommand("apikey", args, "create", "list", "revoke")
	if err != nil {
		return err
	}
	switch sub {
	case "create":
		return c.apikeyCreate(ctx, args)
	case "list":
		return c.apikeyList(ctx, args)
	default:
		return c.apikeyRevoke(ctx, args)
	}
}

// keyFlags are the flags every apikey subcommand has.
type keyFlags struct {
	workspace string
	json      bool
}

func (c *cli) keyFlagSet(name, synopsis string, kf *keyFlags) *flag.FlagSet {
	fs := c.newFlagSet(name, synopsis)
	fs.StringVar(&kf.workspace, "workspace", "", "global `id` of the workspace (ws_...), required")
	fs.BoolVar(&kf.json, "json", false, "print JSON")
	return fs
}

// asOperator opens the database and returns a context acting as an admin
// of the workspace, for commands an operator runs on a tenant's behalf.
// Checking that the workspace exists turns a mistyped id into "workspace
// not found" rather than a foreign-key failure. The caller closes the DB.
func (c *cli) asOperator(ctx context.Context, fs *flag.FlagSet, workspace string) (context.Context, *db.DB, *db.AuthService, error) {
	if workspace == "" {
		return nil, nil, nil, &usageError{msg: "--workspace is required", fs: fs}
	}
	ws, err := crmhub.ParseID(crmhub.KindWorkspace, workspace)
	if err != nil {
		return nil, nil, nil, err
	}
	cfg, err := c.config()
	if err != nil {
		return nil, nil, nil, err
	}
	d, err := openDB(ctx, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	auth := db.NewAuthService(d)
	ctx = crmhub.NewContext(ctx, &crmhub.Principal{WorkspaceID: ws, Scopes: []crmhub.Scope{crmhub.ScopeAdmin}})
	if _, err := auth.Workspace(ctx); err != nil {
		d.Close()
		return nil, nil, nil, err
	}
	return ctx, d, auth, nil
}

func (c *cli) apikeyCreate(ctx context.Context, args []string) error {
	var kf keyFlags
	fs := c.keyFlagSet("apikey create", "apikey create --workspace ID --scopes a,b [--name NAME] [--json]\n\n"+
		"Creates an API key; it is printed once. Scopes: "+scopeList()+".", &kf)
	var scopeNames listValue
	fs.Var(&scopeNames, "scopes", "comma-separated `scopes`, required")
	name := fs.String("name", "cli", "key `name`, to tell keys apart")
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	if len(scopeNames) == 0 {
		return &usageError{msg: "--scopes is required", fs: fs}
	}
	scopes, err := crmhub.ParseScopes(scopeNames)
	if err != nil {
		return fmt.Errorf("%s; valid scopes are %s", crmhub.ErrorMessage(err), scopeList())
	}
	ctx, d, auth, err := c.asOperator(ctx, fs, kf.workspace)
	if err != nil {
		return err
	}
	defer d.Close()

	key, secret, err := auth.CreateAPIKey(ctx, *name, scopes)
	if err != nil {
		return fmt.Errorf("create API key: %w", err)
	}
	if kf.json {
		return printObject(c.stdout, "apiKey", secret, "id", key.GlobalID())
	}
	fmt.Fprintf(c.stdout, "API key %s created with scopes %s\n", key.GlobalID(), joinScopes(key.Scopes))
	fmt.Fprintf(c.stdout, "Secret (shown only now): %s\n", secret)
	return nil
}

func (c *cli) apikeyList(ctx context.Context, args []string) error {
	var kf keyFlags
	fs := c.keyFlagSet("apikey list", "apikey list --workspace ID [--json]\n\n"+
		"Lists the workspace's keys, newest first, revoked ones included.", &kf)
	if err := c.parseNoArgs(fs, args); err != nil {
		return err
	}
	ctx, d, auth, err := c.asOperator(ctx, fs, kf.workspace)
	if err != nil {
		return err
	}
	defer d.Close()

	keys, err := auth.APIKeys(ctx)
	if err != nil {
		return fmt.Errorf("list API keys: %w", err)
	}
	if kf.json {
		out := make([]apiKeyJSON, len(keys))
		for i, k := range keys {
			out[i] = toAPIKeyJSON(k)
		}
		return printJSON(c.stdout, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tSCOPES\tCREATED\tLAST USED\tREVOKED")
	for _, k := range keys {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.GlobalID(), k.Name, k.Prefix, joinScopes(k.Scopes),
			k.CreatedAt.Format(time.RFC3339), formatTime(k.LastUsedAt), formatTime(k.RevokedAt))
	}
	return tw.Flush()
}

func (c *cli) apikeyRevoke(ctx context.Context, args []string) error {
	var kf keyFlags
	fs := c.keyFlagSet("apikey revoke", "apikey revoke --workspace ID KEYID [--json]\n\nRevokes a key at once.", &kf)
	pos, err := c.parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &usageError{msg: "apikey revoke needs exactly one KEYID", fs: fs}
	}
	if kf.workspace == "" {
		return &usageError{msg: "--workspace is required", fs: fs}
	}
	keyID, err := crmhub.ParseID(crmhub.KindAPIKey, pos[0])
	if err != nil {
		return err
	}
	ctx, d, auth, err := c.asOperator(ctx, fs, kf.workspace)
	if err != nil {
		return err
	}
	defer d.Close()

	key, err := auth.RevokeAPIKey(ctx, keyID)
	if err != nil {
		return fmt.Errorf("revoke API key: %w", err)
	}
	if kf.json {
		return printJSON(c.stdout, toAPIKeyJSON(key))
	}
	fmt.Fprintf(c.stdout, "API key %s revoked at %s\n", key.GlobalID(), formatTime(key.RevokedAt))
	return nil
}

// apiKeyJSON is an API key as `apikey list --json` and `apikey revoke
// --json` print it: the fields of the GraphQL ApiKey type.
type apiKeyJSON struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Scopes     []string   `json:"scopes"`
	CreatedAt  time.Time  `json:"createdAt"`
	LastUsedAt *time.Time `json:"lastUsedAt"`
	RevokedAt  *time.Time `json:"revokedAt"`
}

func toAPIKeyJSON(k *crmhub.APIKey) apiKeyJSON {
	out := apiKeyJSON{ID: k.GlobalID(), Name: k.Name, Prefix: k.Prefix, Scopes: []string{},
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
	for _, s := range k.Scopes {
		out.Scopes = append(out.Scopes, string(s))
	}
	return out
}

func joinScopes(scopes []crmhub.Scope) string {
	s := make([]string, len(scopes))
	for i, sc := range scopes {
		s[i] = string(sc)
	}
	return strings.Join(s, ",")
}

func scopeList() string { return strings.ReplaceAll(joinScopes(crmhub.Scopes), ",", ", ") }

func formatTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}
