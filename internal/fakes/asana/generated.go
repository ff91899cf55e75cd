package asana

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// GeneratedAttachment describes an Asana-hosted file whose bytes are made
// on the fly from a seed rather than stored, so benchmarks can copy files
// of a gigabyte or more without the emulator holding them in memory.
type GeneratedAttachment struct {
	Task string // task gid
	Name string
	Size int64
	Seed uint64
	// By is the uploader's login or gid; empty means the seeded alice.
	By string
}

// generatedBlock is the period of the pattern: large enough that the
// content does not compress to nothing, small enough to build instantly.
const generatedBlock = 64 << 10

// GeneratedContent returns the bytes of a generated attachment: size bytes
// of a pattern seeded by seed (a pseudo-random block, repeated). Tests use
// it to check what arrived on the other side.
func GeneratedContent(seed uint64, size int64) io.ReadSeeker {
	block := make([]byte, generatedBlock)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	for i := 0; i < len(block); i += 8 {
		v := rng.Uint64()
		for j := range 8 {
			block[i+j] = byte(v >> (8 * j))
		}
	}
	return &generatedReader{block: block, size: size}
}

type generatedReader struct {
	block     []byte
	size, off int64
}

func (g *generatedReader) Read(p []byte) (int, error) {
	if g.off >= g.size {
		return 0, io.EOF
	}
	n := 0
	for n < len(p) && g.off < g.size {
		i := g.off % int64(len(g.block))
		c := copy(p[n:], g.block[i:min(int64(len(g.block)), i+g.size-g.off)])
		n += c
		g.off += int64(c)
	}
	return n, nil
}

func (g *generatedReader) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += g.off
	case io.SeekEnd:
		offset += g.size
	default:
		return 0, errors.New("asana emulator: bad whence")
	}
	if offset < 0 {
		return 0, errors.New("asana emulator: negative position")
	}
	g.off = offset
	return offset, nil
}

// AddGeneratedAttachment adds an Asana-hosted file with generated content
// to a task and returns its gid. Its download_url streams the bytes.
func (s *Server) AddGeneratedAttachment(g GeneratedAttachment) (string, error) {
	if g.Size < 0 {
		return "", fmt.Errorf("asana emulator: negative size %d", g.Size)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.st.lookupTask(g.Task)
	if t == nil {
		return "", fmt.Errorf("asana emulator: no task %q", g.Task)
	}
	by := g.By
	if by == "" {
		by = "alice"
	}
	u, ok := s.st.userByRef(by)
	if !ok {
		return "", fmt.Errorf("asana emulator: unknown user %q", by)
	}
	a := &attachment{gid: s.st.newGID(), subtype: "asana", name: g.Name, parent: t.gid, contentType: "application/octet-stream",
		createdAt: s.nowLocked(), createdBy: u.gid, generated: &g}
	s.addAttachmentLocked(a, u.gid, true)
	return a.gid, nil
}

// serveGenerated streams a generated file; ServeContent also answers
// range requests, as Asana's file store does.
func serveGenerated(w http.ResponseWriter, r *http.Request, g *GeneratedAttachment) {
	http.ServeContent(w, r, "", time.Time{}, GeneratedContent(g.Seed, g.Size))
}
