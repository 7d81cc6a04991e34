"""Who may manage a service account: hold at least every permission the account holds, everywhere.

A project admin's `serviceaccount.*` permissions cover the accounts of its project, but an account's
roles are not limited to that project: the bootstrap organization admin lives in `default`, and any
account can be granted roles elsewhere. Checking only the owning project would let an admin of
`default` mint a key for the organization admin and take over the organization. So managing an
account (its keys, PATCH, delete) also requires that the caller's own permissions include, in every
scope where the account has roles, all the permissions those roles grant.
"""

from __future__ import annotations

from conduit.auth.principal import Principal
from conduit.domain.accounts import PROJECT_SCOPE, ServiceAccount
from conduit.domain.errors import Forbidden
from conduit.domain.roles import permissions_of


async def require_may_manage(principal: Principal, account: ServiceAccount) -> None:
    """403 unless the caller's permissions cover the account's, in every scope it has roles in."""
    if principal.id == account.id:
        return  # an account never holds more than itself
    for scope_kind, scope_id, roles in await principal.ctx.store.member_scopes(account.id):
        needed = permissions_of(roles)
        if not needed:
            continue
        if scope_kind == PROJECT_SCOPE:
            held = await principal.project_permissions(scope_id)
        else:
            held = await principal.organization_permissions(scope_id)
        if not needed <= held:
            raise Forbidden(
                f"service account {account.id} holds roles in {scope_kind} {scope_id} beyond"
                " your own permissions there"
            )
