package workloads

import (
	"testing"

	"github.com/crmhub/crmhub/db/dbtest"
)

func TestMain(m *testing.M) { dbtest.Main(m) }
