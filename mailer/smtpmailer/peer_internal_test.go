package smtpmailer

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeConn is a connection whose peer is remote.
type fakeConn struct {
	net.Conn
	remote net.Addr
}

func (c fakeConn) RemoteAddr() net.Addr { return c.remote }

// "localhost" goes without TLS only while it really is the local machine:
// a resolver that sends it elsewhere does not get the exemption.
func TestLocalhostMustLandOnLoopback(t *testing.T) {
	t.Parallel()
	m, err := New(Config{Host: "localhost", From: "a@example.com"})
	require.NoError(t, err)
	require.True(t, m.loopback)

	err = m.checkPeer(fakeConn{remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 25}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "192.0.2.7")
	for _, ip := range []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback, net.IPv4(127, 1, 2, 3)} {
		assert.NoError(t, m.checkPeer(fakeConn{remote: &net.TCPAddr{IP: ip, Port: 25}}), ip)
	}

	remote, err := New(Config{Host: "smtp.example.com", From: "a@example.com"})
	require.NoError(t, err)
	assert.NoError(t, remote.checkPeer(fakeConn{remote: &net.TCPAddr{IP: net.IPv4(192, 0, 2, 7), Port: 25}}),
		"TLS is required anyway")
}
