package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/gatehouse-id/gatehouse/internal/store"
)

var rarTests = []test{
	{"OAuth/AuthorizationDetails/Types", testDetailTypes},
	{"OAuth/AuthorizationDetails/Requests", testRequestDetails},
}

func testDetailTypes(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	rr := s.OAuth().AuthorizationDetails()
	ty := &store.AuthorizationDetailType{Tenant: tn, Type: "payment_initiation", Description: "Payments",
		Schema: json.RawMessage(`{"type":"object"}`)}
	noErr(t, "PutDetailType", rr.PutDetailType(ctx(t), ty))
	got, err := rr.GetDetailType(ctx(t), tn, "payment_initiation")
	noErr(t, "GetDetailType", err)
	same(t, "GetDetailType", got, ty)
	created := ty.CreatedAt
	up := &store.AuthorizationDetailType{Tenant: tn, Type: "payment_initiation", Schema: json.RawMessage(`{"type":"object","required":["amount"]}`)}
	noErr(t, "PutDetailType(replace)", rr.PutDetailType(ctx(t), up))
	if !up.CreatedAt.Equal(created) || up.Description != "" || string(up.Schema) != `{"type":"object","required":["amount"]}` {
		t.Errorf("replaced type = %+v (created %v)", up, created)
	}
	noErr(t, "PutDetailType(second)", rr.PutDetailType(ctx(t), &store.AuthorizationDetailType{Tenant: tn, Type: "account_information",
		Schema: json.RawMessage(`{}`)}))
	list, err := rr.ListDetailTypes(ctx(t), tn)
	noErr(t, "ListDetailTypes", err)
	if len(list) != 2 || list[0].Type != "account_information" {
		t.Errorf("ListDetailTypes = %+v", list)
	}
	other := mkTenant(t, s)
	_, err = rr.GetDetailType(ctx(t), other, "payment_initiation")
	wantErr(t, "GetDetailType(other tenant)", err, store.ErrNotFound)
	noErr(t, "DeleteDetailType", rr.DeleteDetailType(ctx(t), tn, "payment_initiation"))
	wantErr(t, "DeleteDetailType(again)", rr.DeleteDetailType(ctx(t), tn, "payment_initiation"), store.ErrNotFound)
}

func testRequestDetails(t *testing.T, s store.Store) {
	tn := mkTenant(t, s)
	rr := s.OAuth().AuthorizationDetails()
	d := &store.RequestDetails{Tenant: tn, Owner: "req-1", Details: json.RawMessage(`[{"type":"x"}]`), ExpiresAt: later()}
	noErr(t, "PutDetails", rr.PutDetails(ctx(t), d))
	got, err := rr.GetDetails(ctx(t), tn, "req-1")
	noErr(t, "GetDetails", err)
	if string(got.Details) != `[{"type":"x"}]` || got.Approved {
		t.Errorf("GetDetails = %+v", got)
	}
	noErr(t, "ApproveDetails", rr.ApproveDetails(ctx(t), tn, "req-1"))
	if got, err = rr.GetDetails(ctx(t), tn, "req-1"); err != nil || !got.Approved {
		t.Errorf("after ApproveDetails: %+v %v", got, err)
	}
	wantErr(t, "ApproveDetails(unknown)", rr.ApproveDetails(ctx(t), tn, "nope"), store.ErrNotFound)
	noErr(t, "PutDetails(expired)", rr.PutDetails(ctx(t), &store.RequestDetails{Tenant: tn, Owner: "old",
		Details: json.RawMessage(`[]`), ExpiresAt: time.Now().Add(-time.Minute)}))
	_, err = rr.GetDetails(ctx(t), tn, "old")
	wantErr(t, "GetDetails(expired)", err, store.ErrNotFound)
	_, err = rr.GetDetails(ctx(t), mkTenant(t, s), "req-1")
	wantErr(t, "GetDetails(other tenant)", err, store.ErrNotFound)
}
