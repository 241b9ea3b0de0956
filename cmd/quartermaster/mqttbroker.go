package main

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"time"

	"github.com/quartermaster/qm/broker"
)

// withBroker makes e keep the device accounts of the external MQTT broker
// --mqtt-broker names, if any: every command that registers, assigns,
// rotates, transfers or unassigns a device tells the broker before it
// commits (the credential exists in plain only then).
func (c *config) withBroker(e engine, err error) (engine, error) {
	if err != nil || c.mqttBroker == "" {
		return e, err
	}
	addr, err := brokerAddr(c.mqttBroker)
	if err != nil {
		e.Close()
		return nil, err
	}
	log, err := c.logger()
	if err != nil {
		e.Close()
		return nil, err
	}
	host, _ := os.Hostname()
	// A "/" in the id: no device's can have one, so no device can take
	// this connection's place.
	c.dynsec = broker.NewDynSec(broker.DynSecConfig{Addr: addr, Username: c.mqttUser, Password: os.Getenv("QM_MQTT_BROKER_PASSWORD"),
		ClientID: fmt.Sprintf("quartermaster/%s/%d/%d/control", host, os.Getpid(), time.Now().UnixNano()), Logger: log})
	e.Devices().KeepAccounts(c.dynsec)
	return &brokerEngine{engine: e, dynsec: c.dynsec}, nil
}

// brokerEngine is an engine whose device accounts an external broker
// keeps: closing it closes the connection to the broker.
type brokerEngine struct {
	engine
	dynsec *broker.DynSec
}

func (b *brokerEngine) Close() error {
	b.dynsec.Close()
	return b.engine.Close()
}

// brokerAddr is the host:port of an mqtt:// URL.
func brokerAddr(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "mqtt" || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return "", fmt.Errorf("--mqtt-broker must be mqtt://HOST:PORT, got %q (the account is --mqtt-broker-user, its password QM_MQTT_BROKER_PASSWORD)", raw)
	}
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "1883")
	}
	return host, nil
}
