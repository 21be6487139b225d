// Go gRPC echo server for bench/grpc: the peer svckit's gRPC server is measured against.
// Built offline in GOPATH mode from Debian's golang-google-grpc-dev (see ../../run.sh).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"

	"google.golang.org/grpc"
	echopb "svckit.dev/bench/echopb"
)

type server struct {
	echopb.UnimplementedEchoServer
}

func (server) Stream(s echopb.Echo_StreamServer) error {
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := s.Send(m); err != nil {
			return err
		}
	}
}

func (server) Unary(_ context.Context, m *echopb.EchoMessage) (*echopb.EchoMessage, error) {
	return m, nil
}

func main() {
	port := flag.Int("port", 9190, "listen port")
	flag.Parse()
	lis, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	s := grpc.NewServer()
	echopb.RegisterEchoServer(s, server{})
	fmt.Printf("listening on %d\n", *port)
	if err := s.Serve(lis); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
