package deimosgrpc_test

import (
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"
)

func mustParse(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}
