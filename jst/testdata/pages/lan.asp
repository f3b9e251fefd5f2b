<html>
<head>
<meta http-equiv="content-type" content="text/html; charset=utf-8">
<title>LAN Settings</title>
<script language="JavaScript" type="text/javascript">
var dhcpMode = "<% getCfgZero(1, "dhcpEnabled"); %>";
var lanIp = '<% getCfgGeneral(1, "lan_ipaddr"); %>';
var hostName = "<% getCfgGeneral(1, "HostName"); %>";
function initValue()
{
	document.lanCfg.dhcpType.selectedIndex = (dhcpMode == "1") ? 1 : 0;
}
</script>
</head>
<body onload="initValue()">
<form method="post" name="lanCfg" action="/goform/setLan">
<table>
<tr><td>IP Address</td><td><input name="lanIp" maxlength="15" value="<% getCfgGeneral(1, "lan_ipaddr"); %>"></td></tr>
<tr><td>Netmask</td><td><input name="lanNetmask" value="<% getCfgGeneral(1, "lan_netmask"); %>"></td></tr>
<tr><td>DHCP</td><td><select name="dhcpType">
<option value="0" <% if (getCfgZero(0, "dhcpEnabled") == "0") write("selected"); %>>Disable</option>
<option value="1" <% if (getCfgZero(0, "dhcpEnabled") == "1") write("selected"); %>>Server</option>
</select></td></tr>
<tr><td>Start</td><td><input name="dhcpStart" value="<% getCfgGeneral(1, "dhcpStart"); %>"></td></tr>
<tr><td>End</td><td><input name="dhcpEnd" value="<% getCfgGeneral(1, "dhcpEnd"); %>"></td></tr>
<tr><td>Lease</td><td><input name="dhcpLease" value="<% getCfgGeneral(1, "dhcpLease"); %>"> (<% write(getCfgGeneral(0, "dhcpLease") / 60); %> minutes)</td></tr>
<tr><td>Domain</td><td><input name="dhcpDomain" value="<% getCfgZero(1, "dhcpDomain"); %>"></td></tr>
</table>
<%
  var i;
  for (i = 1; i <= 3; i++) {
    write("<input type=\"hidden\" name=\"static" + i + "\" value=\"");
    getCfgGeneral(1, "dhcpStatic" + i);
    write("\">\n");
  }
%>
<input type="submit" value="Apply">
</form>
</body>
</html>
