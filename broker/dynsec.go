package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/quartermaster/qm"
	"github.com/quartermaster/qm/broker/mqttclient"
)

// An external broker (Mosquitto 2 with its dynamic security plugin) holds
// an account per device: user name and client id its ident, password its
// credential, and a role of its own that lets it publish to its telemetry
// topic and subscribe to its config and commands topics, nothing else
// (Mosquitto 2.0's plugin has no %u in its rules, so the rules name the
// ident). The nodes share one account, the operator's dynsec admin, to
// which they add a role of their own for telemetry and settings
// (NodeRole). Both are kept through the plugin's control topic.

const (
	controlTopic  = "$CONTROL/dynamic-security/v1"
	responseTopic = controlTopic + "/response"
	// NodeRole is the role the nodes give their own account: read every
	// device's telemetry (with a shared subscription) and send devices
	// their settings and commands.
	NodeRole = "quartermaster-node"
	// deviceRolePrefix starts the name of each device's role; a client
	// with such a role is a device's account, which the nodes keep.
	deviceRolePrefix = "quartermaster-device-"
)

// DynSecConfig configures a DynSec.
type DynSecConfig struct {
	// Addr is the broker, host:port.
	Addr string
	// Username and Password are the nodes' account, an admin of the
	// plugin.
	Username, Password string
	// ClientID names the connection (clean session): unique per process.
	ClientID string
	// Timeout bounds each exchange with the broker (0: 10s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// DynSec keeps the external broker's accounts and retained messages; it
// connects when first needed and again after the connection is lost.
type DynSec struct {
	cfg DynSecConfig

	dialMu  sync.Mutex
	mu      sync.Mutex
	conn    *mqttclient.Client
	waiting map[string]chan dynsecResponse // by correlation data
}

var _ qm.DeviceAccounts = (*DynSec)(nil)

// NewDynSec returns a DynSec for cfg.
func NewDynSec(cfg DynSecConfig) *DynSec {
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &DynSec{cfg: cfg, waiting: map[string]chan dynsecResponse{}}
}

// Addr is the broker's address.
func (s *DynSec) Addr() string { return s.cfg.Addr }

// connection returns the connection, made afresh if there is none.
func (s *DynSec) connection(ctx context.Context) (*mqttclient.Client, error) {
	// One dial at a time, without mu, which the answers take on the
	// connection's reading goroutine.
	s.dialMu.Lock()
	defer s.dialMu.Unlock()
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c != nil {
		select {
		case <-c.Done():
		default:
			return c, nil
		}
	}
	c, _, err := mqttclient.Dial(ctx, mqttclient.Options{Addr: s.cfg.Addr, ClientID: s.cfg.ClientID, Username: s.cfg.Username, Password: s.cfg.Password,
		CleanSession: true, OnMessage: s.answered})
	if err != nil {
		return nil, fmt.Errorf("the MQTT broker at %s: %w", s.cfg.Addr, err)
	}
	if err := c.Subscribe(ctx, responseTopic, 1); err != nil {
		c.Close()
		return nil, fmt.Errorf("the MQTT broker at %s: %w (is its dynamic security plugin loaded, and %s its admin?)", s.cfg.Addr, err, s.cfg.Username)
	}
	s.mu.Lock()
	s.conn = c
	s.mu.Unlock()
	return c, nil
}

// Close closes the connection.
func (s *DynSec) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.conn != nil {
		s.conn.Close()
	}
	return nil
}

// Publish sends a message at QoS 1 and waits until the broker has it.
func (s *DynSec) Publish(ctx context.Context, topic string, payload []byte, retain bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, err := s.connection(ctx)
	if err != nil {
		return err
	}
	return c.Publish(ctx, topic, payload, 1, retain)
}

// dynsecCommand is one command of the plugin's control API.
type dynsecCommand map[string]any

// dynsecResponse is the plugin's answer to one command.
type dynsecResponse struct {
	Command         string          `json:"command"`
	Error           string          `json:"error"`
	Data            json.RawMessage `json:"data"`
	CorrelationData string          `json:"correlationData"`
}

// answered routes the plugin's answers to the commands waiting for them;
// every node hears every answer, and keeps its own.
func (s *DynSec) answered(m *mqttclient.Message) {
	defer m.Ack()
	var body struct{ Responses []dynsecResponse }
	if m.Topic != responseTopic || json.Unmarshal(m.Payload, &body) != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range body.Responses {
		if ch, ok := s.waiting[r.CorrelationData]; ok {
			delete(s.waiting, r.CorrelationData)
			ch <- r
		}
	}
}

// do runs commands, in order, and returns their answers in order.
func (s *DynSec) do(ctx context.Context, cmds ...dynsecCommand) ([]dynsecResponse, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	c, err := s.connection(ctx)
	if err != nil {
		return nil, err
	}
	var nonce [8]byte
	rand.Read(nonce[:])
	chans := make([]chan dynsecResponse, len(cmds))
	s.mu.Lock()
	for i, cmd := range cmds {
		id := fmt.Sprintf("%s-%d", hex.EncodeToString(nonce[:]), i)
		cmd["correlationData"] = id
		chans[i] = make(chan dynsecResponse, 1)
		s.waiting[id] = chans[i]
	}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		for _, cmd := range cmds {
			delete(s.waiting, cmd["correlationData"].(string))
		}
		s.mu.Unlock()
	}()
	payload, err := json.Marshal(map[string]any{"commands": cmds})
	if err != nil {
		return nil, err
	}
	if err := c.Publish(ctx, controlTopic, payload, 1, false); err != nil {
		return nil, fmt.Errorf("the MQTT broker's dynamic security: %w", err)
	}
	out := make([]dynsecResponse, len(cmds))
	for i, ch := range chans {
		select {
		case out[i] = <-ch:
		case <-c.Done():
			return nil, fmt.Errorf("the MQTT broker's dynamic security: %w", c.Err())
		case <-ctx.Done():
			return nil, fmt.Errorf("the MQTT broker's dynamic security did not answer %s: %w", cmds[i]["command"], ctx.Err())
		}
	}
	return out, nil
}

// check turns the answers into an error naming the first that failed,
// except for the errors each allows (nil: none).
func check(rs []dynsecResponse, allowed ...[]string) error {
	for i, r := range rs {
		if r.Error != "" && (i >= len(allowed) || !slices.Contains(allowed[i], r.Error)) {
			return fmt.Errorf("the MQTT broker's dynamic security refused %s: %s", r.Command, r.Error)
		}
	}
	return nil
}

// The plugin's errors the nodes expect.
const (
	errClientExists   = "Client already exists"
	errRoleExists     = "Role already exists"
	errClientNotFound = "Client not found"
	errRoleNotFound   = "Role not found"
)

// deviceRole is the name of the role of the device named ident.
func deviceRole(ident string) string { return deviceRolePrefix + ident }

// deviceACLs are the rules of a device's role: its own topics, nothing
// else (the plugin's defaults deny every other publish and subscribe).
func deviceACLs(ident string) []map[string]any {
	return []map[string]any{
		{"acltype": "publishClientSend", "topic": TelemetryTopic(ident), "allow": true},
		{"acltype": "subscribeLiteral", "topic": ConfigTopic(ident), "allow": true},
		{"acltype": "subscribeLiteral", "topic": CommandsTopic(ident), "allow": true},
	}
}

// TelemetryTopic is where a device publishes its telemetry.
func TelemetryTopic(ident string) string { return "devices/" + ident + "/telemetry" }

// CommandsTopic is where a device reads its commands.
func CommandsTopic(ident string) string { return "devices/" + ident + "/commands" }

// SetDeviceAccount implements qm.DeviceAccounts. A new credential is set
// with setClientPassword, which closes the device's connections; a device
// disabled is disconnected by the plugin too.
func (s *DynSec) SetDeviceAccount(ctx context.Context, ident, token string, enabled bool) error {
	enable := "disableClient"
	if enabled {
		enable = "enableClient"
	}
	if token == "" {
		rs, err := s.do(ctx, dynsecCommand{"command": enable, "username": ident})
		if err != nil {
			return err
		}
		if len(rs) == 1 && rs[0].Error == errClientNotFound {
			s.cfg.Logger.Warn("mqtt broker: the device has no account there: rotate its credential (quartermaster device rotate) to make one",
				"ident", ident)
			return nil
		}
		return check(rs)
	}
	role := deviceRole(ident)
	rs, err := s.do(ctx,
		dynsecCommand{"command": "createRole", "rolename": role, "textname": "quartermaster device " + ident, "acls": deviceACLs(ident)},
		dynsecCommand{"command": "createClient", "username": ident, "clientid": ident, "password": token, "textname": "quartermaster device",
			"roles": []map[string]any{{"rolename": role}}},
		dynsecCommand{"command": "getClient", "username": ident})
	if err != nil {
		return err
	}
	if err := check(rs, []string{errRoleExists}, []string{errClientExists}); err != nil {
		return err
	}
	if rs[1].Error == "" {
		// Made just now, with its credential.
		rs, err = s.do(ctx, dynsecCommand{"command": enable, "username": ident})
	} else {
		// An account of that name already: its password changes only if
		// it is a device's, never, say, the nodes' own.
		if !hasRole(rs[2].Data, role) {
			return qm.Errorf(qm.EConflict, "the MQTT broker has an account named %s that is not a device's", ident)
		}
		rs, err = s.do(ctx, dynsecCommand{"command": "setClientPassword", "username": ident, "password": token},
			dynsecCommand{"command": enable, "username": ident})
	}
	if err != nil {
		return err
	}
	return check(rs)
}

// hasRole reports whether getClient's data names role among the client's
// roles.
func hasRole(data json.RawMessage, role string) bool {
	var got struct {
		Client struct{ Roles []struct{ Rolename string } }
	}
	if json.Unmarshal(data, &got) != nil {
		return false
	}
	return slices.ContainsFunc(got.Client.Roles, func(r struct{ Rolename string }) bool { return r.Rolename == role })
}

// deleteDevice removes the account and role of the device named ident,
// which closes its connections.
func (s *DynSec) deleteDevice(ctx context.Context, ident string) error {
	rs, err := s.do(ctx, dynsecCommand{"command": "deleteClient", "username": ident}, dynsecCommand{"command": "deleteRole", "rolename": deviceRole(ident)})
	if err != nil {
		return err
	}
	return check(rs, []string{errClientNotFound}, []string{errRoleNotFound})
}

// SetupNode gives the nodes' own account NodeRole, made if missing: it
// subscribes to every device's telemetry and publishes their settings
// and commands.
func (s *DynSec) SetupNode(ctx context.Context) error {
	acls := []map[string]any{
		{"acltype": "subscribePattern", "topic": "devices/+/telemetry", "allow": true},
		{"acltype": "publishClientReceive", "topic": "devices/+/telemetry", "allow": true},
		{"acltype": "publishClientSend", "topic": "devices/+/config", "allow": true},
		{"acltype": "publishClientSend", "topic": "devices/+/commands", "allow": true},
	}
	rs, err := s.do(ctx, dynsecCommand{"command": "createRole", "rolename": NodeRole, "textname": "quartermaster nodes", "acls": acls},
		dynsecCommand{"command": "getClient", "username": s.cfg.Username})
	if err != nil {
		return err
	}
	if err := check(rs, []string{errRoleExists}); err != nil || hasRole(rs[1].Data, NodeRole) {
		return err
	}
	// The plugin closes the connections of a client whose roles change,
	// this one among them, before it answers: the answer is read on a
	// connection made afresh.
	s.do(ctx, dynsecCommand{"command": "addClientRole", "username": s.cfg.Username, "rolename": NodeRole})
	rs, err = s.do(ctx, dynsecCommand{"command": "getClient", "username": s.cfg.Username})
	if err != nil {
		return err
	}
	if err := check(rs); err != nil {
		return err
	}
	if !hasRole(rs[0].Data, NodeRole) {
		return fmt.Errorf("the MQTT broker's dynamic security did not give %s the role %s", s.cfg.Username, NodeRole)
	}
	return nil
}

// brokerDevice is a device's account as the broker lists it.
type brokerDevice struct {
	disabled bool
}

// deviceAccounts lists the accounts of devices the broker holds, by
// ident.
func (s *DynSec) deviceAccounts(ctx context.Context) (map[string]brokerDevice, error) {
	const page = 1000
	out := map[string]brokerDevice{}
	for offset := 0; ; offset += page {
		rs, err := s.do(ctx, dynsecCommand{"command": "listClients", "verbose": true, "count": page, "offset": offset})
		if err != nil {
			return nil, err
		}
		if err := check(rs); err != nil {
			return nil, err
		}
		var got struct {
			Clients []struct {
				Username string
				Disabled bool
				Roles    []struct{ Rolename string }
			}
		}
		if err := json.Unmarshal(rs[0].Data, &got); err != nil {
			return nil, fmt.Errorf("the MQTT broker's dynamic security: listClients: %w", err)
		}
		for _, c := range got.Clients {
			for _, r := range c.Roles {
				if r.Rolename == deviceRole(c.Username) {
					out[c.Username] = brokerDevice{disabled: c.Disabled}
				}
			}
		}
		if len(got.Clients) < page {
			return out, nil
		}
	}
}

// Inventory is the device inventory Reconcile compares the accounts with.
type Inventory interface {
	qm.DeviceInventory
	// AccountsSettled calls fn with every device of the inventory, by
	// ident, and whether it may connect, while no change of a device's
	// account is under way (catalog.DeviceStore.AccountsSettled): a
	// device's account is written before the device is committed.
	AccountsSettled(ctx context.Context, fn func(ctx context.Context, mayConnect map[string]bool) error) error
}

// Reconcile brings the broker's device accounts in line with the
// inventory, the source of truth: an account whose device the inventory
// lacks is deleted; one enabled or disabled otherwise than the inventory
// says (a device may connect while a tenant holds it that is not
// suspended) is set right. A device of the inventory with no account
// cannot be given one (its credential is known only as a hash): it is
// logged, and counted in missing, and connects once its credential is
// rotated. It compares them while the accounts are settled, so an
// account written for a device being registered, assigned or taken back
// by another node or command is not taken for a stray.
func (s *DynSec) Reconcile(ctx context.Context, inventory Inventory) (missing int, err error) {
	err = inventory.AccountsSettled(ctx, func(ctx context.Context, mayConnect map[string]bool) error {
		missing, err = s.reconcile(ctx, mayConnect)
		return err
	})
	return missing, err
}

// reconcile is Reconcile, once the accounts are settled.
func (s *DynSec) reconcile(ctx context.Context, mayConnect map[string]bool) (missing int, err error) {
	accounts, err := s.deviceAccounts(ctx)
	if err != nil {
		return 0, err
	}
	var lacking []string
	for _, ident := range slices.Sorted(maps.Keys(mayConnect)) {
		a, ok := accounts[ident]
		delete(accounts, ident)
		switch {
		case !ok:
			lacking = append(lacking, ident)
		case a.disabled == mayConnect[ident]:
			if err := s.SetDeviceAccount(ctx, ident, "", mayConnect[ident]); err != nil {
				return 0, err
			}
		}
	}
	for ident := range accounts {
		s.cfg.Logger.Info("mqtt broker: account of a device the inventory lacks deleted", "ident", ident)
		if err := s.deleteDevice(ctx, ident); err != nil {
			return 0, err
		}
	}
	if len(lacking) > 0 {
		const shown = 20
		s.cfg.Logger.Warn("mqtt broker: devices with no account there cannot connect to it until their credentials are rotated (quartermaster device rotate IDENT)",
			"devices", len(lacking), "first", strings.Join(lacking[:min(shown, len(lacking))], ","))
	}
	return len(lacking), nil
}
