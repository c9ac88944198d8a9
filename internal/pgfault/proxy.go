// Package pgfault is a loopback proxy for the PostgreSQL wire protocol that
// injects faults between a driver and a server: it closes connections
// before or after a COMMIT reaches the server, delays replies, and kills
// connections mid-transaction. It reads messages with pgx's pgproto3, so it
// acts on statements, not on bytes.
//
// The proxy does not speak TLS: it declines SSL and GSS encryption, so
// drivers must connect with sslmode=disable or prefer.
package pgfault

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgproto3"
)

// Fault kinds, as counted by Counts.
const (
	KilledBeforeCommit = "killed before commit"
	LostCommitReply    = "lost commit reply"
	DelayedCommitReply = "delayed commit reply"
	KilledMidTx        = "killed mid-transaction"
	KilledByRequest    = "killed by request"
)

// Proxy forwards connections from a loopback address to one upstream
// server. Its methods are safe for concurrent use.
type Proxy struct {
	upstream string
	listener net.Listener
	wg       sync.WaitGroup

	mu          sync.Mutex
	links       map[*link]struct{}
	nextCommit  commitFault
	commitDelay time.Duration
	replyDelay  time.Duration
	random      *rand.Rand
	rate        float64
	counts      map[string]int
	closed      bool
}

// commitFault is the fault armed for the next COMMIT.
type commitFault int

const (
	commitPass commitFault = iota
	commitKill
	commitLoseReply
	commitDelayReply
)

// Start listens on a free port of 127.0.0.1 and forwards each connection to
// upstream, a host:port.
func Start(upstream string) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen on loopback: %w", err)
	}
	p := &Proxy{upstream: upstream, listener: ln, links: map[*link]struct{}{}, counts: map[string]int{}}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Addr returns the host:port the proxy listens on.
func (p *Proxy) Addr() string { return p.listener.Addr().String() }

// Close stops listening, closes every connection and waits for them to end.
func (p *Proxy) Close() error {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	err := p.listener.Close()
	p.KillConnections()
	p.wg.Wait()
	return err
}

// KillNextCommit closes the connection that sends the next COMMIT before
// the server receives it, so the transaction rolls back.
func (p *Proxy) KillNextCommit() { p.setCommitFault(commitKill, 0) }

// LoseNextCommitReply lets the next COMMIT reach the server and closes the
// connection when the server's reply arrives, so the transaction commits
// but the driver never learns it.
func (p *Proxy) LoseNextCommitReply() { p.setCommitFault(commitLoseReply, 0) }

// DelayNextCommitReply holds the server's reply to the next COMMIT for d.
func (p *Proxy) DelayNextCommitReply(d time.Duration) { p.setCommitFault(commitDelayReply, d) }

func (p *Proxy) setCommitFault(f commitFault, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.nextCommit, p.commitDelay = f, d
}

// DelayReplies holds each ReadyForQuery message, which ends every reply,
// for d. Zero stops the delay.
func (p *Proxy) DelayReplies(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.replyDelay = d
}

// InjectRandom makes the proxy, from now on, kill a connection before a
// COMMIT, lose a COMMIT's reply, or kill a connection before a statement
// inside a transaction, each with probability rate per opportunity, drawn
// from a generator seeded with seed. Rate 0 stops it.
func (p *Proxy) InjectRandom(seed uint64, rate float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.random = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	p.rate = rate
}

// KillConnections closes every open connection now and returns how many
// it closed.
func (p *Proxy) KillConnections() int {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	if len(links) > 0 && !p.closed {
		p.counts[KilledByRequest] += len(links)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
	return len(links)
}

// Counts returns how many faults of each kind the proxy injected.
func (p *Proxy) Counts() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := make(map[string]int, len(p.counts))
	for k, v := range p.counts {
		out[k] = v
	}
	return out
}

func (p *Proxy) accept() {
	defer p.wg.Done()
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.serve(client)
		}()
	}
}

// link is one proxied connection.
type link struct {
	client, server net.Conn
	once           sync.Once
	inTx           bool // the last ReadyForQuery reported a transaction
	commitSent     commitFault
	commitDelay    time.Duration
}

func (l *link) close() {
	l.once.Do(func() {
		l.client.Close()
		if l.server != nil {
			l.server.Close()
		}
	})
}

// serve runs the start-up of one connection, then forwards its messages in
// both directions until either side closes.
func (p *Proxy) serve(client net.Conn) {
	l := &link{client: client}
	defer l.close()
	clientIn := pgproto3.NewBackend(client, client)
	clientIn.SetMaxBodyLen(0)

	startup, err := receiveStartup(client, clientIn)
	if err != nil {
		return
	}
	server, err := net.Dial("tcp", p.upstream)
	if err != nil {
		return
	}
	l.server = server
	serverIn := pgproto3.NewFrontend(server, server)
	serverIn.SetMaxBodyLen(0)
	serverIn.Send(startup)
	if err := serverIn.Flush(); err != nil {
		return
	}
	if _, ok := startup.(*pgproto3.CancelRequest); ok {
		// The server closes a cancel connection after reading it.
		_, _ = io.Copy(io.Discard, server)
		return
	}
	if err := authenticate(clientIn, serverIn); err != nil {
		return
	}

	if !p.register(l) {
		return
	}
	defer p.unregister(l)
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer l.close()
		p.forwardReplies(l, serverIn, clientIn)
	}()
	p.forwardRequests(l, clientIn, serverIn)
	l.close()
	<-done
}

func (p *Proxy) register(l *link) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.links[l] = struct{}{}
	return true
}

func (p *Proxy) unregister(l *link) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.links, l)
}

// receiveStartup reads the client's first message, declining SSL and GSS
// encryption so that the client goes on in plain text.
func receiveStartup(client net.Conn, in *pgproto3.Backend) (pgproto3.FrontendMessage, error) {
	for {
		msg, err := in.ReceiveStartupMessage()
		if err != nil {
			return nil, err
		}
		switch msg.(type) {
		case *pgproto3.SSLRequest, *pgproto3.GSSEncRequest:
			if _, err := client.Write([]byte{'N'}); err != nil {
				return nil, err
			}
		default:
			return msg, nil
		}
	}
}

// authenticate forwards the authentication exchange until the server is
// ready for queries.
//
// NOTE: the tests run against servers with trust authentication only, so
// the password and SASL branches have not run. It runs before the two forwarding goroutines start, so
// that telling the client reader which password message comes next never
// races with its reads.
func authenticate(clientIn *pgproto3.Backend, serverIn *pgproto3.Frontend) error {
	for {
		msg, err := serverIn.Receive()
		if err != nil {
			return err
		}
		clientIn.Send(msg)
		if err := clientIn.Flush(); err != nil {
			return err
		}
		var authType uint32
		switch msg.(type) {
		case *pgproto3.ReadyForQuery:
			return nil
		case *pgproto3.ErrorResponse:
			return errors.New("server rejected the connection")
		case *pgproto3.AuthenticationCleartextPassword:
			authType = pgproto3.AuthTypeCleartextPassword
		case *pgproto3.AuthenticationMD5Password:
			authType = pgproto3.AuthTypeMD5Password
		case *pgproto3.AuthenticationSASL:
			authType = pgproto3.AuthTypeSASL
		case *pgproto3.AuthenticationSASLContinue:
			authType = pgproto3.AuthTypeSASLContinue
		default:
			continue
		}
		if err := clientIn.SetAuthType(authType); err != nil {
			return err
		}
		reply, err := clientIn.Receive()
		if err != nil {
			return err
		}
		serverIn.Send(reply)
		if err := serverIn.Flush(); err != nil {
			return err
		}
	}
}

// forwardRequests copies messages from the client to the server and
// injects the faults that act before a message reaches the server.
func (p *Proxy) forwardRequests(l *link, clientIn *pgproto3.Backend, serverOut *pgproto3.Frontend) {
	for {
		msg, err := clientIn.Receive()
		if err != nil {
			return
		}
		if isCommit(msg) {
			fault, delay := p.takeCommitFault()
			if fault == commitKill {
				p.count(KilledBeforeCommit)
				return
			}
			p.mu.Lock()
			l.commitSent, l.commitDelay = fault, delay
			p.mu.Unlock()
		} else if p.killMidTx(l, msg) {
			p.count(KilledMidTx)
			return
		}
		serverOut.Send(msg)
		if err := serverOut.Flush(); err != nil {
			return
		}
	}
}

// takeCommitFault returns and clears the armed fault for a COMMIT, or draws
// one in random mode.
func (p *Proxy) takeCommitFault() (commitFault, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f, d := p.nextCommit, p.commitDelay
	p.nextCommit, p.commitDelay = commitPass, 0
	if f == commitPass && p.random != nil && p.rate > 0 {
		switch r := p.random.Float64(); {
		case r < p.rate:
			f = commitKill
		case r < 2*p.rate:
			f = commitLoseReply
		}
	}
	return f, d
}

// killMidTx reports whether random mode kills the connection before msg,
// a statement inside a transaction.
func (p *Proxy) killMidTx(l *link, msg pgproto3.FrontendMessage) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !l.inTx || p.random == nil || p.rate == 0 {
		return false
	}
	switch msg.(type) {
	case *pgproto3.Query, *pgproto3.Parse:
		return p.random.Float64() < p.rate
	}
	return false
}

func (p *Proxy) count(kind string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.counts[kind]++
}

// forwardReplies copies messages from the server to the client and
// injects the faults that act on a reply.
func (p *Proxy) forwardReplies(l *link, serverIn *pgproto3.Frontend, clientOut *pgproto3.Backend) {
	for {
		msg, err := serverIn.Receive()
		if err != nil {
			return
		}
		switch m := msg.(type) {
		case *pgproto3.CommandComplete:
			p.mu.Lock()
			fault, delay := l.commitSent, l.commitDelay
			if !isCommitTag(m.CommandTag) {
				fault = commitPass
			}
			p.mu.Unlock()
			switch fault {
			case commitLoseReply:
				p.count(LostCommitReply)
				return
			case commitDelayReply:
				p.count(DelayedCommitReply)
				time.Sleep(delay)
			}
		case *pgproto3.ReadyForQuery:
			p.mu.Lock()
			l.inTx = m.TxStatus != 'I'
			// A COMMIT of a failed transaction ends with ROLLBACK, so its
			// fault must not wait for the next one.
			l.commitSent, l.commitDelay = commitPass, 0
			delay := p.replyDelay
			p.mu.Unlock()
			time.Sleep(delay)
		}
		clientOut.Send(msg)
		if err := clientOut.Flush(); err != nil {
			return
		}
	}
}

// isCommit reports whether msg sends COMMIT, in the simple or the extended
// protocol.
func isCommit(msg pgproto3.FrontendMessage) bool {
	switch m := msg.(type) {
	case *pgproto3.Query:
		return isCommitSQL(m.String)
	case *pgproto3.Parse:
		return isCommitSQL(m.Query)
	}
	return false
}

func isCommitSQL(sql string) bool {
	s := strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(sql), ";"))
	return strings.EqualFold(s, "commit") || strings.EqualFold(s, "end") || strings.EqualFold(s, "commit transaction")
}

func isCommitTag(tag []byte) bool {
	return string(tag) == "COMMIT"
}
