package store

// UserQuery selects users for ListUsers and CountUsers. Zero value: every
// user. Every field given must hold (they combine with AND).
type UserQuery struct {
	// Role, when not nil, selects the users in that role. NoRole selects
	// the users without a role; it wins over Role.
	Role   *string
	NoRole bool
	// IDs, when not empty, selects those users.
	IDs []string
	// Filter, when not nil, must hold (see Filter).
	Filter *Filter
	// Search, when not empty, selects the users whose Email, FirstName or
	// LastName contains it, compared case-insensitively (both sides
	// lower-cased as strings.ToLower does, non-ASCII letters included).
	Search string
	// Sort orders the result; ID ascending always breaks ties. Empty:
	// CreatedAt then ID.
	Sort []Sort
	// Limit caps the result (0: no cap); Offset skips that many.
	Limit, Offset int
}

// Field names a user field a query can filter or sort on.
type Field string

// Fields of a UserQuery. Filters take the string fields (every one but
// the two timestamps); sorts take them all.
const (
	FieldID        Field = "id"
	FieldEmail     Field = "email"
	FieldFirstName Field = "first_name"
	FieldLastName  Field = "last_name"
	FieldStatus    Field = "status"
	FieldRole      Field = "role"
	FieldCreatedAt Field = "created_at"
	FieldUpdatedAt Field = "updated_at"
)

// Sort is one sort key of a UserQuery. Strings sort by their bytes
// (code-point order, whatever the database's collation); a null role sorts
// before every role (so, last when Desc).
type Sort struct {
	Field Field
	Desc  bool
}

// Op is an operator of a Filter condition, named as in Directus's filter
// rules.
type Op string

// Filter operators. The string operators compare case-sensitively, byte
// for byte, except the _i ones, which lower-case both sides as
// strings.ToLower does. _null/_empty hold for a field without a value (a
// null role, an empty email), _nnull/_nempty for one with a value.
//
// OpRegex (Value: a regular expression) is in the tree because the Manager
// parses every filter with one grammar, but no store runs it and the
// Manager never hands it to ListUsers or CountUsers: each database has its
// own regular expressions, so a listing's answer would depend on the
// store. A store answers a filter with an operator it does not run —
// OpRegex, or one it does not know — with an [*UnsupportedError], which
// matches [ErrUnsupported].
const (
	OpEq           Op = "_eq"
	OpNeq          Op = "_neq"
	OpContains     Op = "_contains"
	OpNContains    Op = "_ncontains"
	OpIContains    Op = "_icontains"
	OpNIContains   Op = "_nicontains"
	OpStartsWith   Op = "_starts_with"
	OpNStartsWith  Op = "_nstarts_with"
	OpIStartsWith  Op = "_istarts_with"
	OpNIStartsWith Op = "_nistarts_with"
	OpEndsWith     Op = "_ends_with"
	OpNEndsWith    Op = "_nends_with"
	OpIEndsWith    Op = "_iends_with"
	OpNIEndsWith   Op = "_niends_with"
	OpIn           Op = "_in"
	OpNin          Op = "_nin"
	OpNull         Op = "_null"
	OpNNull        Op = "_nnull"
	OpEmpty        Op = "_empty"
	OpNEmpty       Op = "_nempty"
	OpRegex        Op = "_regex"
)

// Filter is a parsed filter over user fields, as a Store evaluates it.
// A node is either a group — And (every child holds; empty: true) or Or
// (one child holds; empty: false) — or a condition: Field, Op and, for the
// comparing operators, Value (or Values for _in and _nin; _in with no
// values holds for nobody, _nin with none for everybody). Exactly one of
// And, Or and Field is set.
//
// A field without a value (a null role, an empty email or name) is null
// and empty; such a field fails every positive comparison (_eq, _contains,
// _starts_with, _in…) and passes every negative one (_neq, _ncontains,
// _nin…). The Manager builds filters from Directus's JSON (users.ParseFilter
// reads it); a Store only evaluates them, with its own query, and answers
// an [*UnsupportedError] for an operator it does not run (see Op).
type Filter struct {
	And    []*Filter
	Or     []*Filter
	Field  Field
	Op     Op
	Value  string
	Values []string
}
