import type { Schemas } from '../api/client';

/** What to tell the inviter beside a new invitation's link: whether the
 * server e-mailed it (when the operator set a mail server), or why not. */
export function inviteNote(inv: Schemas['Invitation']): string {
  if (inv.mailed) return `The link was e-mailed to ${inv.email}; it is shown here this once.`;
  if (inv.mail_error) return `The e-mail to ${inv.email} failed (${inv.mail_error}): send this link yourself. It is shown this once.`;
  return 'Send this link to the person invited. It is shown this once.';
}
