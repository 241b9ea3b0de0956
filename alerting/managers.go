package alerting

import (
	"context"

	"github.com/quartermaster/qm"
)

// SettingsManagers returns the addresses of the members of the tenant in
// ctx whose role manages its settings (a built-in owner's or admin's, or a
// custom role's with settings:manage), their accounts not disabled: those
// told when one of its channels is turned off.
func SettingsManagers(members qm.MemberService, roles qm.RoleService) func(ctx context.Context) ([]string, error) {
	return func(ctx context.Context) ([]string, error) {
		rs, err := roles.Roles(ctx)
		if err != nil {
			return nil, err
		}
		managing := map[string]bool{}
		for _, r := range rs {
			managing[r.Name] = r.Allows(qm.PermSettingsManage)
		}
		ms, err := members.Members(ctx)
		if err != nil {
			return nil, err
		}
		var to []string
		for _, m := range ms {
			if managing[m.Role] && !m.Disabled {
				to = append(to, m.Email)
			}
		}
		return to, nil
	}
}
