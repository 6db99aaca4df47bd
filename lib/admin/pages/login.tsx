/**
 * login.tsx is the login form: one password field for the admin token,
 * posted to /login. It works without JavaScript.
 */
import { Layout } from "./layout.tsx";

/** LoginPage renders the form, with an error line after a failed attempt. */
export function LoginPage(props: { nonce: string; nodeName: string; error?: string }) {
  return (
    <Layout title={`unibus ${props.nodeName}: log in`} nonce={props.nonce}>
      <div class="login">
        <h1>unibus · {props.nodeName}</h1>
        <p>Enter the admin token (from <code>admin.token</code> in the data dir, or the token file in <code>[admin]</code>).</p>
        {props.error ? <p class="error" role="alert">{props.error}</p> : null}
        <form method="post" action="/login">
          <label for="token">Admin token</label>
          <input id="token" name="token" type="password" autocomplete="current-password" required autofocus />
          <button type="submit">Log in</button>
        </form>
      </div>
    </Layout>
  );
}
