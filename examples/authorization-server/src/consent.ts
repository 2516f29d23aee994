import { InvalidRequestError } from '../../../src/index.js';
import { readForm, type ServerContext } from '../../../src/server/index.js';
import { errorPage } from './pages.js';

const ALREADY_USED = 'This sign-in has expired or was already used. Start again from the app.';

/**
 * POST /authorize: the user's decision on the consent page. The library
 * checks the handle (single use) and redirects back to the client with the
 * code, or with `access_denied`.
 */
export async function decide(request: Request, context: ServerContext): Promise<Response> {
  let form: URLSearchParams;
  try {
    form = await readForm(request);
  } catch (error) {
    if (error instanceof InvalidRequestError) return errorPage(`The form could not be read: ${error.message}`);
    throw error;
  }
  const handle = form.get('session') ?? '';
  if (!(await context.getAuthorization(handle))) return errorPage(ALREADY_USED);
  const approved = form.get('decision') === 'approve';
  const user = form.get('user')?.trim();
  if (approved && (!user || user.length > 64)) return errorPage('Enter a user name of 1 to 64 characters.');
  try {
    if (!approved || !user) return await context.denyAuthorization(handle);
    // Demo users: the name typed is the user id. A real server signs the user in first.
    return await context.completeAuthorization(handle, { userId: user, props: { signedInAt: new Date().toISOString() } });
  } catch (error) {
    // Of two concurrent submissions of this form, only one completes it.
    if (error instanceof InvalidRequestError && error.field === 'handle') return errorPage(ALREADY_USED);
    throw error;
  }
}
