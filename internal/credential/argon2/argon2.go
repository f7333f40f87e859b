// Copyright 2017 The Go Authors. All rights reserved.
// Use of this source code is governed by a BSD-style
// license that can be found in the LICENSE file.

// Package argon2 is golang.org/x/crypto/argon2 (v0.59.0) with reusable
// working memory: a Memory keeps its blocks from one computation to the
// next, so a server that hashes passwords all day does not allocate (and
// the kernel does not zero) the memory cost, 19 MiB at Gatehouse's
// defaults, for every hash, and its garbage collector does not have that
// much garbage to catch up with after each one.
//
// The changes from x/crypto are in this file only (the blamka and blake2b
// files are unchanged copies; LICENSE is x/crypto's):
//
//   - deriveKey takes its blocks from a Memory instead of make (the
//     Memory maps them outside the Go heap where it can: memory_mmap.go);
//   - the first pass over memory overwrites each block (processBlock)
//     instead of XORing into it (processBlockXOR). Argon2 version 0x13
//     defines the first pass as an overwrite; x/crypto's XOR gave the same
//     result only because its blocks were freshly zeroed. With that, every
//     block is written before it is read (the first two of each lane by
//     initBlocks, the rest in order, each referencing only blocks already
//     written), so reused blocks need no zeroing.
//
// The output is byte for byte that of x/crypto (argon2_test.go checks the
// RFC 9106 vectors and random inputs against x/crypto itself).
//
// For a detailed specification of Argon2 see [argon2-specs.pdf] and
// [RFC 9106].
//
// [argon2-specs.pdf]: https://github.com/P-H-C/phc-winner-argon2/blob/master/argon2-specs.pdf
// [RFC 9106]: https://www.rfc-editor.org/rfc/rfc9106.html
package argon2

import (
	"encoding/binary"
	"runtime"
	"sync"

	"golang.org/x/crypto/blake2b"
)

// The Argon2 version implemented by this package.
const Version = 0x13

const (
	argon2d = iota
	argon2i
	argon2id
)

// Memory is the working memory of Argon2 computations. It keeps the
// blocks of the largest computation it ran until Release, and reuses them
// for the next ones. The zero value is ready to use. A Memory is not safe
// for concurrent use: one computation at a time.
//
// On Linux, macOS and FreeBSD the blocks are mapped from the kernel, outside
// the Go heap (memory_mmap.go): they hold no pointers, the collector has
// nothing to do with them, and if they were in the heap a server's resident
// slots would count as live heap (raising the heap goal by as much again)
// and against GOMEMLIMIT. A Memory dropped without Release is unmapped
// after the collector finds it unreachable.
type Memory struct {
	r *region
}

// Size returns the bytes of working memory m holds.
func (m *Memory) Size() int {
	if m.r == nil {
		return 0
	}
	return len(m.r.blocks) * blockLength * 8
}

// Release drops m's working memory; the next computation allocates anew.
func (m *Memory) Release() {
	if m.r != nil {
		m.r.free()
		m.r = nil
	}
}

// Key derives a key with Argon2i in m's working memory; it returns what
// golang.org/x/crypto/argon2.Key returns for the same arguments, and
// panics, as that does, when time or threads is zero.
func (m *Memory) Key(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.deriveKey(argon2i, password, salt, nil, nil, time, memory, threads, keyLen)
}

// IDKey derives a key with Argon2id in m's working memory; it returns
// what golang.org/x/crypto/argon2.IDKey returns for the same arguments,
// and panics, as that does, when time or threads is zero.
func (m *Memory) IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	return m.deriveKey(argon2id, password, salt, nil, nil, time, memory, threads, keyLen)
}

// Key is Memory.Key in working memory of its own, dropped after.
func Key(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	var m Memory
	defer m.Release()
	return m.Key(password, salt, time, memory, threads, keyLen)
}

// IDKey is Memory.IDKey in working memory of its own, dropped after.
func IDKey(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	var m Memory
	defer m.Release()
	return m.IDKey(password, salt, time, memory, threads, keyLen)
}

func (m *Memory) deriveKey(mode int, password, salt, secret, data []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
	if time < 1 {
		panic("argon2: number of rounds too small")
	}
	if threads < 1 {
		panic("argon2: parallelism degree too low")
	}
	h0 := initHash(password, salt, secret, data, time, memory, uint32(threads), keyLen, mode)

	memory = memory / (syncPoints * uint32(threads)) * (syncPoints * uint32(threads))
	if memory < 2*syncPoints*uint32(threads) {
		memory = 2 * syncPoints * uint32(threads)
	}
	B := m.take(memory)
	r := m.r // B may point outside the Go heap: r keeps the mapping alive
	initBlocks(&h0, B, memory, uint32(threads))
	processBlocks(B, time, memory, uint32(threads), mode)
	key := extractKey(B, memory, uint32(threads), keyLen)
	// The first two blocks of each lane are a function of H0 alone and,
	// with one pass, are never overwritten: cleared, what stays in the
	// kept memory offers no cheap test of a password guess.
	lanes := memory / uint32(threads)
	for lane := uint32(0); lane < uint32(threads); lane++ {
		B[lane*lanes] = block{}
		B[lane*lanes+1] = block{}
	}
	runtime.KeepAlive(r)
	return key
}

// Mapped reports whether m's working memory is outside the Go heap (an
// anonymous mapping; Linux, macOS, FreeBSD). Memory in the heap counts
// against the runtime's memory limit as long as m keeps it.
func (m *Memory) Mapped() bool { return m.r != nil && m.r.mapped() }

// take returns n blocks of m's memory, growing it if it holds fewer. The
// blocks hold whatever the last computation left: see the package doc.
func (m *Memory) take(n uint32) []block {
	if m.r == nil || uint32(len(m.r.blocks)) < n {
		m.Release()
		m.r = newRegion(int(n))
	}
	return m.r.blocks[:n]
}

const (
	blockLength = 128
	syncPoints  = 4
)

type block [blockLength]uint64

func initHash(password, salt, key, data []byte, time, memory, threads, keyLen uint32, mode int) [blake2b.Size + 8]byte {
	var (
		h0     [blake2b.Size + 8]byte
		params [24]byte
		tmp    [4]byte
	)

	b2, _ := blake2b.New512(nil)
	binary.LittleEndian.PutUint32(params[0:4], threads)
	binary.LittleEndian.PutUint32(params[4:8], keyLen)
	binary.LittleEndian.PutUint32(params[8:12], memory)
	binary.LittleEndian.PutUint32(params[12:16], time)
	binary.LittleEndian.PutUint32(params[16:20], uint32(Version))
	binary.LittleEndian.PutUint32(params[20:24], uint32(mode))
	b2.Write(params[:])
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(password)))
	b2.Write(tmp[:])
	b2.Write(password)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(salt)))
	b2.Write(tmp[:])
	b2.Write(salt)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(key)))
	b2.Write(tmp[:])
	b2.Write(key)
	binary.LittleEndian.PutUint32(tmp[:], uint32(len(data)))
	b2.Write(tmp[:])
	b2.Write(data)
	b2.Sum(h0[:0])
	return h0
}

// initBlocks writes the first two blocks of every lane of B.
func initBlocks(h0 *[blake2b.Size + 8]byte, B []block, memory, threads uint32) {
	var block0 [1024]byte
	for lane := uint32(0); lane < threads; lane++ {
		j := lane * (memory / threads)
		binary.LittleEndian.PutUint32(h0[blake2b.Size+4:], lane)

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 0)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+0] {
			B[j+0][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}

		binary.LittleEndian.PutUint32(h0[blake2b.Size:], 1)
		blake2bHash(block0[:], h0[:])
		for i := range B[j+1] {
			B[j+1][i] = binary.LittleEndian.Uint64(block0[i*8:])
		}
	}
}

func processBlocks(B []block, time, memory, threads uint32, mode int) {
	lanes := memory / threads
	segments := lanes / syncPoints

	processSegment := func(n, slice, lane uint32, wg *sync.WaitGroup) {
		var addresses, in, zero block
		if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
			in[0] = uint64(n)
			in[1] = uint64(lane)
			in[2] = uint64(slice)
			in[3] = uint64(memory)
			in[4] = uint64(time)
			in[5] = uint64(mode)
		}

		index := uint32(0)
		if n == 0 && slice == 0 {
			index = 2 // we have already generated the first two blocks
			if mode == argon2i || mode == argon2id {
				in[6]++
				processBlock(&addresses, &in, &zero)
				processBlock(&addresses, &addresses, &zero)
			}
		}

		offset := lane*lanes + slice*segments + index
		var random uint64
		for index < segments {
			prev := offset - 1
			if index == 0 && slice == 0 {
				prev += lanes // last block in lane
			}
			if mode == argon2i || (mode == argon2id && n == 0 && slice < syncPoints/2) {
				if index%blockLength == 0 {
					in[6]++
					processBlock(&addresses, &in, &zero)
					processBlock(&addresses, &addresses, &zero)
				}
				random = addresses[index%blockLength]
			} else {
				random = B[prev][0]
			}
			newOffset := indexAlpha(random, lanes, segments, threads, n, slice, lane, index)
			if n == 0 {
				// The first pass overwrites: B[offset] holds what an
				// earlier computation left there.
				processBlock(&B[offset], &B[prev], &B[newOffset])
			} else {
				processBlockXOR(&B[offset], &B[prev], &B[newOffset])
			}
			index, offset = index+1, offset+1
		}
		wg.Done()
	}

	for n := uint32(0); n < time; n++ {
		for slice := uint32(0); slice < syncPoints; slice++ {
			var wg sync.WaitGroup
			for lane := uint32(0); lane < threads; lane++ {
				wg.Add(1)
				go processSegment(n, slice, lane, &wg)
			}
			wg.Wait()
		}
	}

}

func extractKey(B []block, memory, threads, keyLen uint32) []byte {
	lanes := memory / threads
	for lane := uint32(0); lane < threads-1; lane++ {
		for i, v := range B[(lane*lanes)+lanes-1] {
			B[memory-1][i] ^= v
		}
	}

	var block [1024]byte
	for i, v := range B[memory-1] {
		binary.LittleEndian.PutUint64(block[i*8:], v)
	}
	key := make([]byte, keyLen)
	blake2bHash(key, block[:])
	return key
}

func indexAlpha(rand uint64, lanes, segments, threads, n, slice, lane, index uint32) uint32 {
	refLane := uint32(rand>>32) % threads
	if n == 0 && slice == 0 {
		refLane = lane
	}
	m, s := 3*segments, ((slice+1)%syncPoints)*segments
	if lane == refLane {
		m += index
	}
	if n == 0 {
		m, s = slice*segments, 0
		if slice == 0 || lane == refLane {
			m += index
		}
	}
	if index == 0 || lane == refLane {
		m--
	}
	return phi(rand, uint64(m), uint64(s), refLane, lanes)
}

func phi(rand, m, s uint64, lane, lanes uint32) uint32 {
	p := rand & 0xFFFFFFFF
	p = (p * p) >> 32
	p = (p * m) >> 32
	return lane*lanes + uint32((s+m-(p+1))%uint64(lanes))
}
