<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Network (.asp) · vigil-demo</title>
<link rel="icon" href="favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="style.css">
<script src="app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="./">
    <svg class="logo" viewBox="0 0 32 32" width="32" height="32" aria-hidden="true" focusable="false">
      <path d="M16 2 4 7v8c0 7.5 5.1 13.2 12 15 6.9-1.8 12-7.5 12-15V7z" fill="currentColor" opacity=".15"/>
      <path d="M16 2 4 7v8c0 7.5 5.1 13.2 12 15 6.9-1.8 12-7.5 12-15V7z" fill="none" stroke="currentColor" stroke-width="2" stroke-linejoin="round"/>
      <path d="M8.5 16s2.8-4.5 7.5-4.5 7.5 4.5 7.5 4.5-2.8 4.5-7.5 4.5S8.5 16 8.5 16z" fill="none" stroke="currentColor" stroke-width="1.8"/>
      <circle cx="16" cy="16" r="2.2" fill="currentColor"/>
    </svg>
    <span>vigil-demo</span>
  </a>
  <nav aria-label="Main">
    <a href="./">Dashboard</a>
    <a href="status.html">Status</a>
    <a href="network.html" aria-current="page">Network</a>
    <a href="logs.html">Logs</a>
    <a href="upgrade.html">Firmware</a>
  </nav>
</header>
<main id="main">
<% language=javascript
   // GoAhead 2.x style: the values come from the device's settings
   // through bound functions; type 1 writes the value, type 0 returns it.
   var mode = getCfgZero(0, "wanConnectionMode"); %>
<h1>Network settings</h1>
<p class="note">This page is a GoAhead <code>.asp</code> page rendered by vigil's JST engine; its values come from
<% sysinfo("model"); %> firmware <% sysinfo("firmware"); %>. Save posts to the legacy form
<code>/goform/network</code>, which checks the settings as the device would. This is a demo: nothing changes.</p>

<form class="panel" id="network-form" method="post" action="/goform/network" autocomplete="off">
  <fieldset>
    <legend>Device</legend>
    <div class="field">
      <label for="hostname">Host name</label>
      <input id="hostname" name="hostname" value="<% getCfgGeneral(1, "HostName"); %>" required maxlength="63" spellcheck="false" autocapitalize="off"
             pattern="[A-Za-z0-9]([A-Za-z0-9\-]{0,61}[A-Za-z0-9])?" aria-describedby="hostname-help">
      <p class="help" id="hostname-help">Letters, digits and hyphens, up to 63 characters.</p>
    </div>
  </fieldset>

  <fieldset>
    <legend>Internet connection</legend>
    <div class="choices">
      <label class="choice"><input type="radio" name="mode" value="dhcp"<% if (mode == "DHCP") write(" checked"); %>> Automatic (DHCP)</label>
      <label class="choice"><input type="radio" name="mode" value="static"<% if (mode == "STATIC") write(" checked"); %>> Static IP address</label>
    </div>
    <fieldset id="static-fields" class="nested">
      <legend class="visually-hidden">Static IP address</legend>
      <div class="grid">
        <div class="field">
          <label for="address">IP address</label>
          <input id="address" name="address" inputmode="decimal" value="<% getCfgGeneral(1, "wan_ipaddr"); %>" placeholder="203.0.113.17" spellcheck="false"
                 pattern="((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])">
        </div>
        <div class="field">
          <label for="prefix">Subnet</label>
          <select id="prefix" name="prefix">
            <option value="8"<% if (getCfgZero(0, "wan_prefix") == 8) write(" selected"); %>>/8 (255.0.0.0)</option>
            <option value="16"<% if (getCfgZero(0, "wan_prefix") == 16) write(" selected"); %>>/16 (255.255.0.0)</option>
            <option value="24"<% if (getCfgZero(0, "wan_prefix") == 24) write(" selected"); %>>/24 (255.255.255.0)</option>
            <option value="28"<% if (getCfgZero(0, "wan_prefix") == 28) write(" selected"); %>>/28 (255.255.255.240)</option>
            <option value="30"<% if (getCfgZero(0, "wan_prefix") == 30) write(" selected"); %>>/30 (255.255.255.252)</option>
          </select>
        </div>
        <div class="field">
          <label for="gateway">Gateway</label>
          <input id="gateway" name="gateway" inputmode="decimal" value="<% getCfgGeneral(1, "wan_gateway"); %>" placeholder="203.0.113.1" spellcheck="false"
                 pattern="((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])">
        </div>
      </div>
    </fieldset>
  </fieldset>

  <fieldset>
    <legend>DNS servers</legend>
    <div class="grid">
      <div class="field">
        <label for="dns1">Primary</label>
        <input id="dns1" name="dns1" inputmode="decimal" value="<% getCfgGeneral(1, "wan_primary_dns"); %>" spellcheck="false"
               pattern="((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])">
      </div>
      <div class="field">
        <label for="dns2">Secondary <span class="optional">(optional)</span></label>
        <input id="dns2" name="dns2" inputmode="decimal" value="<% getCfgGeneral(1, "wan_secondary_dns"); %>" spellcheck="false"
               pattern="((25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])\.){3}(25[0-5]|2[0-4][0-9]|1?[0-9]?[0-9])">
      </div>
    </div>
  </fieldset>

  <div class="actions">
    <button type="submit">Save</button>
    <button type="reset" class="secondary">Reset</button>
  </div>
</form>
</main>
<footer class="foot">
  <p>vigil-demo · <% sysinfo("model"); %> · a demonstration UI served by vigil</p>
</footer>
</body>
</html>
