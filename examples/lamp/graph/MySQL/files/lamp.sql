-- The application's database, its user and its data (run at each start: idempotent).
CREATE DATABASE IF NOT EXISTS lamp;
CREATE USER IF NOT EXISTS 'lamp'@'%' IDENTIFIED BY 'lamp';
GRANT SELECT ON lamp.* TO 'lamp'@'%';
CREATE TABLE IF NOT EXISTS lamp.greetings (id INT PRIMARY KEY, message VARCHAR(200) NOT NULL);
INSERT IGNORE INTO lamp.greetings VALUES
  (1, 'Hello from MariaDB'),
  (2, 'Deployed by Roboconf: Apache, Tomcat and MariaDB, a container each');
