<html><head><title>System Status</title>
<script>
var cpu = [<% sysinfo("cpu.load.1"); %>, <% sysinfo("cpu.load.5"); %>, <% sysinfo("cpu.load.15"); %>];
var uptime = "<% sysinfo("uptime"); %>";
</script></head>
<body>
<table>
<tr><th>Load (1 min)</th><td><% sysinfo("cpu.load.1"); %></td></tr>
<tr><th>Memory</th><td><% sysinfo("mem.free"); %> / <% sysinfo("mem.total"); %> KB</td></tr>
<%  language=javascript
    if (sysval("cpu.count") > 1) {
        write("<tr><th>CPUs</th><td>" + sysval("cpu.count") + " cores</td></tr>\n");
    } else {
        write("<tr><th>CPUs</th><td>one core</td></tr>\n");
    }
    var used = sysval("mem.total") - sysval("mem.free");
    write("<tr><th>Used</th><td>" + used + " KB (" + \
          (used * 100 / sysval("mem.total")) + "%)</td></tr>\n");
%>
<tr><th>Clients</th><td><% var n = 0; for (n = 0; sysval("client." + n) != ""; n++) ; write(n); %></td></tr>
</table>
</body></html>
