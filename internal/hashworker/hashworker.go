// Package hashworker hashes passwords in child processes that run at a
// lower CPU priority than the process that serves requests.
//
// An argon2id hash with p lanes runs p goroutines of its own for every
// slice of every pass, on whatever threads the Go scheduler gives them.
// Inside a server, a flood of hashes therefore fills the Go processors
// and the kernel's CPUs with lanes at the same priority as the requests
// that need no hash (the flood's own 503s, a refused token, a health
// check), and every 64 MiB buffer is garbage for the server's collector.
// Neither a locked thread nor GOMAXPROCS can give the lanes a lower
// priority: they are not the caller's goroutine.
//
// A Pool runs each hash in a child process instead (one child per hash
// allowed at once), whose every thread has a higher nice value: the
// kernel runs the server's threads first whenever they are runnable and
// gives the hashing all the CPU they leave. The server's own scheduler
// and collector see none of the hashing; each child collects its one
// buffer after each call and reuses it for the next.
//
// A child is the server's own executable started again with Env set:
// its main must call Main first (see Main). A child that dies is started
// again for the next call; the call it was serving fails.
package hashworker

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/gousers/users"
)

// Env is the environment variable that makes a process a hashing child:
// its value is the JSON of the child's spec (the hasher's parameters and
// its nice value).
const Env = "USERS_HASH_WORKER"

// spec is what a child is told in Env.
type spec struct {
	Argon2id users.Argon2id `json:"argon2id"`
	Nice     int            `json:"nice"`
}

// Config says how a Pool hashes.
type Config struct {
	// Hasher is the hashing the children do. NeedsRehash is answered
	// in the caller's process (it hashes nothing).
	Hasher users.Argon2id
	// Workers is the number of children: the hashes that run at once.
	// At least 1; set it to the Manager's Limits.HashConcurrency.
	Workers int
	// Nice is added to the children's nice value (0-19): 10 gives a
	// runnable request thread about nine tenths of a CPU the two share.
	Nice int
}

// Pool is a users.Hasher whose Hash and Verify run in child processes.
// Create it with Start; Close stops the children.
type Pool struct {
	hasher users.Argon2id
	env    string
	idle   chan *child

	children []*child // fixed at Start

	mu     sync.Mutex
	closed bool
}

// Start starts cfg.Workers children and returns the Pool once each has
// lowered its priority and hashed once; an error when one cannot.
func Start(cfg Config) (*Pool, error) {
	if cfg.Workers < 1 {
		return nil, errors.New("hashworker: Workers must be at least 1")
	}
	if cfg.Nice < 0 || cfg.Nice > 19 {
		return nil, fmt.Errorf("hashworker: Nice %d out of range (0..19)", cfg.Nice)
	}
	b, err := json.Marshal(spec{Argon2id: cfg.Hasher, Nice: cfg.Nice})
	if err != nil {
		return nil, err
	}
	p := &Pool{hasher: cfg.Hasher, env: Env + "=" + string(b), idle: make(chan *child, cfg.Workers)}
	// The children start together: each hashes once before it greets
	// (see serve).
	errs := make([]error, cfg.Workers)
	var wg sync.WaitGroup
	for i := range cfg.Workers {
		c := &child{}
		p.children = append(p.children, c)
		wg.Go(func() { errs[i] = p.start(c) })
	}
	wg.Wait()
	for _, c := range p.children {
		p.idle <- c
	}
	if err := errors.Join(errs...); err != nil {
		p.Close()
		return nil, err
	}
	return p, nil
}

// child is one hashing process; it serves one call at a time.
type child struct {
	pid atomic.Int64 // 0: not running
	cmd *exec.Cmd
	in  io.WriteCloser
	w   *bufio.Writer
	r   *bufio.Reader
}

// start starts c's process (this process's executable again, with Env
// set) and waits for its greeting.
func (p *Pool) start(c *child) error {
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("hashworker: %w", err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), p.env)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return fmt.Errorf("hashworker: %w", err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return fmt.Errorf("hashworker: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("hashworker: starting a child: %w", err)
	}
	c.cmd, c.in, c.w, c.r = cmd, in, bufio.NewWriter(in), bufio.NewReader(out)
	c.pid.Store(int64(cmd.Process.Pid))
	if _, err := c.answer(); err != nil {
		c.stop()
		return fmt.Errorf("hashworker: child %d: %w", cmd.Process.Pid, err)
	}
	return nil
}

// stop ends c's process, if it runs.
func (c *child) stop() {
	if c.cmd == nil {
		return
	}
	_ = c.in.Close() // a child exits when its input ends
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
	c.cmd = nil
	c.pid.Store(0)
}

// The protocol, over the child's stdin and stdout: a request is an
// operation byte and two strings (hash: the password and ""; verify: the
// password and the encoded hash); an answer is a status byte and a string
// (ok: the encoded hash, or "1"/"0" for a match; error: the error's
// text). A string is its length (uvarint) and its bytes. The child greets
// with an answer once it runs at its priority.
const (
	opHash   = 'h'
	opVerify = 'v'
	statusOK = 'o'
	statusEr = 'e'
	maxField = 1 << 20
)

func writeString(w *bufio.Writer, s string) error {
	var n [binary.MaxVarintLen64]byte
	if _, err := w.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))]); err != nil {
		return err
	}
	_, err := w.WriteString(s)
	return err
}

func readString(r *bufio.Reader) (string, error) {
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return "", err
	}
	if n > maxField {
		return "", errors.New("field too long")
	}
	b := make([]byte, n)
	_, err = io.ReadFull(r, b)
	return string(b), err
}

// errRemote is an error the child's hasher returned: the call's answer,
// not a broken child.
type errRemote struct{ msg string }

func (e *errRemote) Error() string { return e.msg }

// answer reads one answer: its string, an *errRemote for an error the
// hasher returned, another error when the child broke.
func (c *child) answer() (string, error) {
	st, err := c.r.ReadByte()
	if err != nil {
		return "", err
	}
	s, err := readString(c.r)
	if err != nil {
		return "", err
	}
	switch st {
	case statusOK:
		return s, nil
	case statusEr:
		return "", &errRemote{msg: s}
	}
	return "", fmt.Errorf("bad answer status %q", st)
}

// call sends one request to an idle child and returns its answer.
func (p *Pool) call(op byte, pw, encoded string) (string, error) {
	c := <-p.idle
	defer func() { p.idle <- c }()
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return "", errors.New("hashworker: pool closed")
	}
	if c.cmd == nil { // it broke on an earlier call
		if err := p.start(c); err != nil {
			return "", err
		}
	}
	s, err := c.roundTrip(op, pw, encoded)
	var remote *errRemote
	if err != nil && !errors.As(err, &remote) {
		pid := c.cmd.Process.Pid
		c.stop()
		return "", fmt.Errorf("hashworker: child %d: %w", pid, err)
	}
	return s, err
}

func (c *child) roundTrip(op byte, pw, encoded string) (string, error) {
	if err := c.w.WriteByte(op); err != nil {
		return "", err
	}
	if err := writeString(c.w, pw); err != nil {
		return "", err
	}
	if err := writeString(c.w, encoded); err != nil {
		return "", err
	}
	if err := c.w.Flush(); err != nil {
		return "", err
	}
	return c.answer()
}

// Hash implements users.Hasher in a child process.
func (p *Pool) Hash(password string) (string, error) {
	return p.call(opHash, password, "")
}

// Verify implements users.Hasher in a child process.
func (p *Pool) Verify(password, encoded string) (bool, error) {
	s, err := p.call(opVerify, password, encoded)
	return s == "1", err
}

// NeedsRehash implements users.Hasher, in the caller's process.
func (p *Pool) NeedsRehash(encoded string) bool { return p.hasher.NeedsRehash(encoded) }

// PIDs returns the process ids of the children running now.
func (p *Pool) PIDs() []int {
	var pids []int
	for _, c := range p.children {
		if pid := c.pid.Load(); pid > 0 {
			pids = append(pids, int(pid))
		}
	}
	return pids
}

// Close stops the children, waiting for the calls in progress; later
// calls fail.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	p.mu.Unlock()
	held := make([]*child, 0, len(p.children))
	for range p.children {
		c := <-p.idle
		c.stop()
		held = append(held, c)
	}
	for _, c := range held {
		p.idle <- c // calls waiting for a child learn the pool closed
	}
	return nil
}

// Main is a hashing child's main: when Env is set it serves calls on
// stdin and stdout until stdin ends, and returns the exit status (0, or
// 2 when it could not start) for os.Exit; when Env is not set it returns
// -1 at once. A program that uses a Pool calls it first:
//
//	if code := hashworker.Main(); code >= 0 {
//		os.Exit(code)
//	}
func Main() int {
	v, ok := os.LookupEnv(Env)
	if !ok {
		return -1
	}
	return serve(v, os.Stdin, os.Stdout)
}

func serve(specJSON string, stdin io.Reader, stdout io.Writer) int {
	w := bufio.NewWriter(stdout)
	fail := func(err error) int {
		_ = w.WriteByte(statusEr)
		_ = writeString(w, err.Error())
		_ = w.Flush()
		return 2
	}
	var sp spec
	if err := json.Unmarshal([]byte(specJSON), &sp); err != nil {
		return fail(fmt.Errorf("hashworker: %s: %w", Env, err))
	}
	if err := lowerPriority(sp.Nice); err != nil {
		return fail(fmt.Errorf("hashworker: lowering the priority by %d: %w", sp.Nice, err))
	}
	// The collector runs once after each call, and only then: a call's
	// buffer is the child's one large object, garbage once it answered,
	// so one collection frees it and the next call's buffer takes its
	// memory, already resident (on fresh memory a hash pays for faulting
	// it in). Collecting by the heap's growth instead would let two
	// buffers be resident at once.
	debug.SetGCPercent(-1)
	keep := uint64(sp.Argon2id.Memory)<<10 + 32<<20
	// One hash before the greeting: the first hash of a process pays
	// for faulting its memory in (at 64 MiB, two to three times the
	// cost of the next), and the Manager's first estimate of a hash's
	// cost, which the hashing gate sheds by, is taken from the first
	// calls.
	if _, err := sp.Argon2id.Hash("warm-up"); err != nil {
		return fail(fmt.Errorf("hashworker: %w", err))
	}
	collect(keep)
	if err := w.WriteByte(statusOK); err != nil {
		return 2
	}
	if err := writeString(w, strconv.Itoa(os.Getpid())); err != nil || w.Flush() != nil {
		return 2
	}
	r := bufio.NewReader(stdin)
	for {
		op, err := r.ReadByte()
		if err != nil {
			return 0 // the pool closed our input
		}
		pw, err := readString(r)
		if err != nil {
			return 0
		}
		encoded, err := readString(r)
		if err != nil {
			return 0
		}
		var out string
		switch op {
		case opHash:
			out, err = sp.Argon2id.Hash(pw)
		case opVerify:
			var ok bool
			ok, err = sp.Argon2id.Verify(pw, encoded)
			out = "0"
			if ok {
				out = "1"
			}
		default:
			err = fmt.Errorf("hashworker: unknown operation %q", op)
		}
		if err != nil {
			_ = w.WriteByte(statusEr)
			_ = writeString(w, err.Error())
		} else {
			_ = w.WriteByte(statusOK)
			_ = writeString(w, out)
		}
		if w.Flush() != nil {
			return 0
		}
		collect(keep)
	}
}

// collect runs the collector, and returns memory to the system when more
// than keep bytes of heap stay resident (a hash verified with parameters
// larger than the child's own).
func collect(keep uint64) {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapSys-ms.HeapReleased > keep {
		debug.FreeOSMemory()
	}
}
