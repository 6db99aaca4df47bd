// natsprobe is the official Go NATS client (Debian's golang-github-nats-io-go-nats-dev,
// built offline with GO111MODULE=off GOPATH=/usr/share/gocode) doing what
// operators' tools do against a unibus node, so the tests prove it works
// with the real Go client and not only nats.js.
//
//	natsprobe -url U [-nkey SEEDFILE | -user U -pass P] [-ca CA] request SUBJECT [DATA]
//	natsprobe ... many SUBJECT N        (collect up to N answers for 2 s; one JSON per line)
//	natsprobe ... discover              (print the servers the client learned, one per line)
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
)

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "natsprobe: "+format+"\n", args...)
	os.Exit(1)
}

func main() {
	var url, seed, user, pass, ca string
	args := os.Args[1:]
	for len(args) > 1 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-url":
			url = args[1]
		case "-nkey":
			seed = args[1]
		case "-user":
			user = args[1]
		case "-pass":
			pass = args[1]
		case "-ca":
			ca = args[1]
		default:
			fail("unknown flag %s", args[0])
		}
		args = args[2:]
	}
	if url == "" || len(args) == 0 {
		fail("usage: natsprobe -url U [-nkey F | -user U -pass P] [-ca F] request|many|discover ...")
	}
	opts := []nats.Option{nats.Name("natsprobe"), nats.Timeout(5 * time.Second)}
	if seed != "" {
		opt, err := nats.NkeyOptionFromSeed(seed)
		if err != nil {
			fail("nkey: %v", err)
		}
		opts = append(opts, opt)
	}
	if user != "" {
		opts = append(opts, nats.UserInfo(user, pass))
	}
	if ca != "" {
		opts = append(opts, nats.RootCAs(ca))
	}
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		fail("connect: %v", err)
	}
	defer nc.Close()
	switch args[0] {
	case "request":
		data := ""
		if len(args) > 2 {
			data = args[2]
		}
		msg, err := nc.Request(args[1], []byte(data), 5*time.Second)
		if err != nil {
			fail("request %s: %v", args[1], err)
		}
		fmt.Println(string(msg.Data))
	case "many":
		want, _ := strconv.Atoi(args[2])
		inbox := nats.NewInbox()
		sub, err := nc.SubscribeSync(inbox)
		if err != nil {
			fail("subscribe: %v", err)
		}
		if err := nc.PublishRequest(args[1], inbox, nil); err != nil {
			fail("publish: %v", err)
		}
		deadline := time.Now().Add(2 * time.Second)
		for got := 0; got < want; got++ {
			msg, err := sub.NextMsg(time.Until(deadline))
			if err != nil {
				break
			}
			fmt.Println(string(msg.Data))
		}
	case "discover":
		time.Sleep(500 * time.Millisecond)
		for _, s := range nc.DiscoveredServers() {
			fmt.Println(s)
		}
	default:
		fail("unknown command %s", args[0])
	}
}
