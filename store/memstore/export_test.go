package memstore

import "context"

// Dropping is a Store that can also delete a role or a policy its users
// still name (storetest.Dropper), as nothing in the Store contract can.
type Dropping struct{ *Store }

func (d Dropping) DropRole(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.roles, id)
	return nil
}

func (d Dropping) DropPolicy(_ context.Context, id string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.policies, id)
	return nil
}
