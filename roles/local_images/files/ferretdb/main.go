// Command ferretdb runs FerretDB's embeddable package as a standalone server.
//
// FerretDB's own cmd/ferretdb panics when built with `go install` (the module
// download lacks its generated build/version/version.txt), so we embed the
// supported github.com/FerretDB/FerretDB/ferretdb package instead.
package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"log"
	"log/slog"
	"math"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func main() {
	listen := flag.String("listen", "127.0.0.1:27017", "TCP address to listen on")
	dataDir := flag.String("data-dir", "data", "directory of the SQLite databases")
	logLevel := flag.String("log-level", "warn", "log level: debug, info, warn or error")
	healthcheck := flag.Bool("healthcheck", false, "ping the server at -listen and exit 0 when it answers ok (container health check)")
	flag.Parse()

	if *healthcheck {
		if err := ping(*listen, 3*time.Second); err != nil {
			log.Printf("unhealthy: %v", err)
			os.Exit(1)
		}
		os.Exit(0)
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		log.Fatalf("bad -log-level %q: %v", *logLevel, err)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	dir, err := filepath.Abs(*dataDir)
	if err != nil {
		log.Fatalf("bad -data-dir %q: %v", *dataDir, err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		log.Fatalf("cannot create -data-dir %q: %v", dir, err)
	}

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:  ferretdb.ListenerConfig{TCP: *listen},
		Logger:    logger,
		Handler:   "sqlite",
		SQLiteURL: "file:" + dir + "/",
	})
	if err != nil {
		log.Fatal(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	logger.Info("ferretdb listening", "addr", *listen, "data_dir", dir)
	if err := f.Run(ctx); err != nil {
		log.Fatal(err)
	}
}

// ping sends the MongoDB `ping` command (one OP_MSG) and checks the reply says ok: 1.
// Our images have no curl or mongosh, so the health check is this binary itself.
func ping(addr string, timeout time.Duration) error {
	conn, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(timeout))

	var doc bytes.Buffer // BSON {ping: 1, $db: "admin"}
	doc.Write([]byte{0x10})
	doc.WriteString("ping\x00")
	_ = binary.Write(&doc, binary.LittleEndian, int32(1))
	doc.Write([]byte{0x02})
	doc.WriteString("$db\x00")
	_ = binary.Write(&doc, binary.LittleEndian, int32(len("admin")+1))
	doc.WriteString("admin\x00")
	doc.WriteByte(0)
	body := binary.LittleEndian.AppendUint32(nil, uint32(doc.Len()+4))
	body = append(body, doc.Bytes()...)

	msg := binary.LittleEndian.AppendUint32(nil, uint32(16+4+1+len(body))) // messageLength
	msg = binary.LittleEndian.AppendUint32(msg, 1)                         // requestID
	msg = binary.LittleEndian.AppendUint32(msg, 0)                         // responseTo
	msg = binary.LittleEndian.AppendUint32(msg, 2013)                      // OP_MSG
	msg = binary.LittleEndian.AppendUint32(msg, 0)                         // flagBits
	msg = append(msg, 0)                                                   // section kind 0
	msg = append(msg, body...)
	if _, err := conn.Write(msg); err != nil {
		return err
	}

	header := make([]byte, 16)
	if _, err := io.ReadFull(conn, header); err != nil {
		return err
	}
	size := binary.LittleEndian.Uint32(header)
	if size < 16 || size > 1<<20 {
		return errors.New("the server's reply has an impossible length")
	}
	reply := make([]byte, size-16)
	if _, err := io.ReadFull(conn, reply); err != nil {
		return err
	}
	one := binary.LittleEndian.AppendUint64([]byte("\x01ok\x00"), math.Float64bits(1))
	if !bytes.Contains(reply, one) {
		return errors.New("the server answered ping without ok: 1")
	}
	return nil
}
