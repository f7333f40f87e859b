package ldap

import (
	"net"
	"reflect"
	"unsafe"

	"github.com/jimlambrt/gldap"
)

// peerAddr answers the client address (host only) of r's connection, ""
// when it cannot be read. gldap keeps the accepted net.Conn in the
// unexported field netConn of the request's unexported conn and offers
// no accessor, so it is read by reflection. The module version is pinned
// in go.mod, and TestBindThrottledPerSource fails should a new version
// move the field (binds would then be counted per account alone, as for
// an unknown address).
//
// gldap's StartTLS replaces netConn; callers read the address once per
// connection under connState.netMu, which startTLS holds while it
// upgrades, so the read never races the write.
func peerAddr(r *gldap.Request) string {
	if r == nil {
		return ""
	}
	c := reflect.ValueOf(r).Elem().FieldByName("conn")
	if !c.IsValid() || c.Kind() != reflect.Pointer || c.IsNil() {
		return ""
	}
	nc := c.Elem().FieldByName("netConn")
	if !nc.IsValid() || nc.Kind() != reflect.Interface || !nc.CanAddr() || nc.IsNil() {
		return ""
	}
	v := reflect.NewAt(nc.Type(), unsafe.Pointer(nc.UnsafeAddr())).Elem().Interface()
	conn, ok := v.(net.Conn)
	if !ok || conn == nil || conn.RemoteAddr() == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(conn.RemoteAddr().String())
	if err != nil {
		return ""
	}
	return host
}
