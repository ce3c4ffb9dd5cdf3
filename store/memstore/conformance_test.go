package memstore_test

import (
	"testing"

	"github.com/gousers/users/store"
	"github.com/gousers/users/store/internal/sharedtest"
	"github.com/gousers/users/store/memstore"
	"github.com/gousers/users/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return memstore.Dropping{Store: memstore.New()} })
}

func TestShared(t *testing.T) {
	t.Parallel()
	sharedtest.Run(t, func(t *testing.T) store.Store { return memstore.New() })
}
