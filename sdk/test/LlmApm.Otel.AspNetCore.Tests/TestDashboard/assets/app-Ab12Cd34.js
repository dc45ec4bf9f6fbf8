console.log("TEST-DASHBOARD-SCRIPT");
