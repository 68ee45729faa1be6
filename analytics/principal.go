package analytics

import "context"

// Role is a user's role in the host application.
type Role string

// Roles, from the most to the least privileged. Staff counts as admin.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleAnalyst Role = "analyst"
	RoleViewer  Role = "viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	return r == RoleAdmin || r == RoleManager || r == RoleAnalyst || r == RoleViewer
}

func (r Role) rank() int {
	switch r {
	case RoleAdmin:
		return 4
	case RoleManager:
		return 3
	case RoleAnalyst:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Principal is the authenticated caller, as the host application's
// IdentifyFunc reports it.
type Principal struct {
	// ID is the user id (UUIDs in the reference server); empty means not
	// authenticated.
	ID string
	// Username is the login name.
	Username string
	// FullName is the display name.
	FullName string
	// Email is the user's e-mail address.
	Email string
	// Role decides what the caller may see and do.
	Role Role
	// Staff marks a staff user; staff counts as admin.
	Staff bool
}

// Authenticated reports whether p identifies a user (a non-empty ID).
func (p Principal) Authenticated() bool { return p.ID != "" }

// IsAdmin reports whether p has the admin role or is staff.
func (p Principal) IsAdmin() bool { return p.Staff || p.Role == RoleAdmin }

// AtLeast reports whether p's role is r or above (staff is admin). An
// unknown role ranks below viewer.
func (p Principal) AtLeast(r Role) bool {
	if p.Staff {
		return true
	}
	return p.Role.rank() >= r.rank()
}

// seesEveryone reports whether p may read every user's activity.
func (p Principal) seesEveryone() bool { return p.AtLeast(RoleManager) }

// require checks that p is authenticated and holds at least role.
func require(p Principal, role Role) error {
	if !p.Authenticated() {
		return ErrUnauthenticated
	}
	if role != "" && !p.AtLeast(role) {
		return ErrForbidden
	}
	return nil
}

// ctxKey is the context key of a request's value of type T; each T has
// its own key.
type ctxKey[T any] struct{}

func withValue[T any](ctx context.Context, v T) context.Context {
	return context.WithValue(ctx, ctxKey[T]{}, v)
}

func valueFrom[T any](ctx context.Context) (T, bool) {
	v, ok := ctx.Value(ctxKey[T]{}).(T)
	return v, ok
}

// WithPrincipal returns a copy of ctx carrying p. Handlers served by the
// Service put the identified principal there; host handlers can read it
// with PrincipalFrom.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return withValue(ctx, p)
}

// PrincipalFrom returns the principal stored by WithPrincipal.
func PrincipalFrom(ctx context.Context) (Principal, bool) {
	return valueFrom[Principal](ctx)
}
