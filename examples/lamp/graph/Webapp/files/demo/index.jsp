<%@ page contentType="text/html; charset=UTF-8" import="java.io.*, java.net.*, java.sql.*, java.util.*" %>
<%
  // roboconf.properties: what the Webapp's recipes wrote (the database's address, the instance)
  Properties roboconf = new Properties();
  try (InputStream in = new FileInputStream(application.getRealPath("/WEB-INF/roboconf.properties"))) {
    roboconf.load(in);
  }
  String instance = roboconf.getProperty("instance", "?");
  String address = InetAddress.getLocalHost().getHostAddress();
  response.setHeader("X-Lamp-Served-By", instance + " (" + address + ")");
  Class.forName("org.mariadb.jdbc.Driver");
  String url = "jdbc:mariadb://" + roboconf.getProperty("database.ip") + ":"
      + roboconf.getProperty("database.port") + "/lamp?connectTimeout=3000";
  List<String> greetings = new ArrayList<>();
  try (Connection connection = DriverManager.getConnection(url, "lamp", "lamp");
       Statement statement = connection.createStatement();
       ResultSet rows = statement.executeQuery("SELECT message FROM greetings ORDER BY id")) {
    while (rows.next()) {
      greetings.add(rows.getString(1));
    }
  }
%><!doctype html>
<html>
<head><title>Roboconf LAMP</title></head>
<body>
<h1>Roboconf LAMP</h1>
<p id="served-by">Served by <%= instance %> (<%= address %>)</p>
<p>Read from MariaDB at <%= roboconf.getProperty("database.ip") %>:<%= roboconf.getProperty("database.port") %>:</p>
<ul id="greetings">
<% for (String greeting : greetings) { %>  <li><%= greeting %></li>
<% } %></ul>
</body>
</html>
