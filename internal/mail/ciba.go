package mail

// KindCIBA mails the link that opens a backchannel authentication
// (OpenID CIBA) approval page: a client asks the user to approve a sign-in
// on this device.
const KindCIBA = "ciba"

func init() { kinds[KindCIBA] = true }
