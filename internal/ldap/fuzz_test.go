package ldap_test

import (
	"net"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// message frames an LDAP message around an operation.
func message(id int64, op *ber.Packet, controls ...goldap.Control) []byte {
	p := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	p.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	p.AppendChild(op)
	if len(controls) > 0 {
		c := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
		for _, x := range controls {
			c.AppendChild(x.Encode())
		}
		p.AppendChild(c)
	}
	return p.Bytes()
}

func bindPacket(dn, password string) *ber.Packet {
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationBindRequest, nil, "Bind Request")
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 3, "Version"))
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "User Name"))
	r.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, password, "Password"))
	return r
}

func searchPacket(baseDN string, scope int64, filter string, attrs ...string) *ber.Packet {
	r := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchRequest, nil, "Search Request")
	r.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, baseDN, "Base DN"))
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, scope, "Scope"))
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, "Deref Aliases"))
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, "Size Limit"))
	r.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 0, "Time Limit"))
	r.AppendChild(ber.NewBoolean(ber.ClassUniversal, ber.TypePrimitive, ber.TagBoolean, false, "Types Only"))
	f, err := goldap.CompileFilter(filter)
	if err != nil {
		panic(err)
	}
	r.AppendChild(f)
	a := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, x := range attrs {
		a.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, x, "Attribute"))
	}
	r.AppendChild(a)
	return r
}

// FuzzServerPackets writes arbitrary bytes, after a valid bind of the read
// service account, to a real listener: request decoding (asn1-ber and
// gldap), controls, filters and every handler. A panic in a handler would
// end the process (gldap recovers only its own reading); afterwards the
// listener must still answer a bind.
func FuzzServerPackets(f *testing.F) {
	e := newEnv(f, sqlite(f))
	bind := message(1, bindPacket(e.readKeyDN, e.readKey))
	f.Add(message(2, searchPacket("dc=acme,dc=gatehouse", 2, "(&(objectClass=*)(uid=a*))", "cn", "memberOf")))
	f.Add(message(2, searchPacket("", 0, "(objectClass=*)")))
	f.Add(message(2, searchPacket("cn=staff,ou=groups,dc=acme,dc=gatehouse", 0, "(member=*)", "member"),
		&goldap.ControlPaging{PagingSize: 1, Cookie: []byte("1:x")}))
	f.Add(message(2, searchPacket("ou=users,dc=acme,dc=gatehouse", 1, "(!(memberOf=cn=eng,ou=groups,dc=acme,dc=gatehouse))"),
		&goldap.ControlPaging{PagingSize: 2}))
	f.Add(message(2, bindPacket("uid=alice,ou=users,dc=acme,dc=gatehouse", "x")))
	f.Add([]byte{0x30, 0x05, 0x02, 0x01, 0x02, 0x42, 0x00}) // unbind
	// An unbind after the input makes the server close the connection
	// once it has answered, instead of waiting for more.
	unbind := []byte{0x30, 0x05, 0x02, 0x01, 0x7f, 0x42, 0x00}
	addr := e.srv.Addr()
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if err != nil {
			t.Fatalf("listener gone: %v", err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(50 * time.Millisecond))
		if _, err := c.Write(append(append(append([]byte{}, bind...), b...), unbind...)); err != nil {
			return
		}
		buf := make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				return
			}
		}
	})
	// Still serving.
	c, err := goldap.DialURL("ldap://" + addr)
	if err == nil {
		defer c.Close()
		err = c.Bind(e.readKeyDN, e.readKey)
	}
	if err != nil {
		f.Errorf("after fuzzing the listener no longer binds: %v", err)
	}
}
