package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"time"
)

// server is a running examples/server.
type server struct {
	url     string
	pid     int
	mailLog string // its stdout: the log mailer's output
	errLog  string // its stderr
	cmd     *exec.Cmd
	done    chan struct{}
}

// listening is the line both old and new examples/server log once they
// accept connections.
var listening = regexp.MustCompile(`msg="users server listening" addr=(\S+)`)

// serverEnv is what every server gets before -server-env and the side's
// own: a port of its own, a database of its own, the admin token, and no
// per-IP registration or all-address login limit (one client sends every
// request; a server that does not know a variable ignores it).
func serverEnv(dir, admin string) []string {
	return []string{
		"HOST=127.0.0.1",
		"PORT=0",
		"DB_FILENAME=" + filepath.Join(dir, "users.db"),
		"ADMIN_TOKEN=" + admin,
		"RATE_LIMITER_REGISTRATION_ENABLED=false",
		"RATE_LIMITER_LOGIN_IP_TOTAL_POINTS=1073741824",
	}
}

// startServer runs bin with env added to this process's environment, in
// dir, and waits until it listens.
func startServer(ctx context.Context, bin, dir string, env []string) (*server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	s := &server{mailLog: filepath.Join(dir, "server.out"), errLog: filepath.Join(dir, "server.err"), done: make(chan struct{})}
	out, err := os.Create(s.mailLog)
	if err != nil {
		return nil, err
	}
	errLog, err := os.Create(s.errLog)
	if err != nil {
		out.Close()
		return nil, err
	}
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = out
	stderr, err := cmd.StderrPipe()
	if err != nil {
		out.Close()
		errLog.Close()
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		out.Close()
		errLog.Close()
		return nil, fmt.Errorf("start %s: %w", bin, err)
	}
	s.cmd, s.pid = cmd, cmd.Process.Pid
	addr := make(chan string, 1)
	go func() {
		defer close(s.done)
		defer out.Close()
		defer errLog.Close()
		// Line by line until the listening line, then copied as it comes:
		// a server that logs a line per request must not cost this
		// process a match and a write(2) per request on the cores both
		// servers share.
		br := bufio.NewReaderSize(stderr, 64<<10)
		for {
			line, err := br.ReadString('\n')
			_, _ = io.WriteString(errLog, line)
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
				break
			}
			if err != nil {
				break
			}
		}
		_, _ = io.Copy(errLog, br)
		_ = cmd.Wait()
	}()
	select {
	case a := <-addr:
		s.url = "http://" + a
		return s, nil
	case <-s.done:
		return nil, fmt.Errorf("%s exited before listening; its log: %s", bin, s.errLog)
	case <-time.After(time.Minute):
		s.stop()
		return nil, fmt.Errorf("%s did not listen within a minute; its log: %s", bin, s.errLog)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop ends the server (SIGTERM, then SIGKILL after 30 s) and waits.
func (s *server) stop() {
	if s == nil || s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(30 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
